// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU TLB flush benchmark: kernel threads, one per CPU, flush the IOTLB
 * entries of one paging domain back to back for a given time, each timing
 * every flush. On an SMMUv3 a flush is a TLB invalidation and a CMD_SYNC, so
 * this measures the driver's command queue under one to all CPUs.
 *
 * Bind a PCI device that is alone in its IOMMU group and has no other use
 * (driver_override), then
 *
 *	echo "<threads> <milliseconds>" >/sys/kernel/debug/iommu_flush_bench/run
 *	cat /sys/kernel/debug/iommu_flush_bench/run
 *
 * For each run the device is attached to a new paging domain of its IOMMU,
 * which its flushes target (a driver may skip a domain no device uses), and
 * given back to its default domain afterwards. The device itself is neither
 * enabled nor touched.
 */

#include <linux/cpumask.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/iommu.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#define FLUSH_BENCH_MAX_MS	60000
#define FLUSH_BENCH_RESULT_LEN	2048

struct flush_bench_thread {
	struct iommu_domain *domain;
	unsigned int cpu;
	u64 end_ns;
	struct completion done;
	u64 flushes;
	u64 busy_ns;
	u64 max_ns;
};

struct flush_bench {
	struct pci_dev *pdev;
	struct dentry *dir;
	/* One run at a time; guards result and result_len. */
	struct mutex lock;
	char result[FLUSH_BENCH_RESULT_LEN];
	size_t result_len;
};

static int flush_bench_thread(void *data)
{
	struct flush_bench_thread *t = data;
	u64 now = ktime_get_ns();

	while (now < t->end_ns) {
		u64 start = now, took;

		iommu_flush_iotlb_all(t->domain);
		now = ktime_get_ns();
		took = now - start;
		t->flushes++;
		t->busy_ns += took;
		t->max_ns = max(t->max_ns, took);
		cond_resched();
	}
	complete(&t->done);

	/* Wait for kthread_stop(): the run reads the counts first. */
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static u64 flush_bench_div(u64 a, u64 b)
{
	return b ? div64_u64(a, b) : 0;
}

/* Runs @nr threads on the first @nr online CPUs, @ms milliseconds, against @domain. */
static int flush_bench_threads(struct flush_bench *b, struct iommu_domain *domain,
			       unsigned int nr, unsigned int ms)
{
	struct flush_bench_thread *t;
	struct task_struct **tasks;
	u64 flushes = 0, busy = 0, worst = 0, end;
	unsigned int i, cpu;
	size_t len;
	int ret = 0;

	t = kcalloc(nr, sizeof(*t), GFP_KERNEL);
	tasks = kcalloc(nr, sizeof(*tasks), GFP_KERNEL);
	if (!t || !tasks) {
		ret = -ENOMEM;
		goto out;
	}

	i = 0;
	for_each_online_cpu(cpu) {
		if (i == nr)
			break;
		t[i].domain = domain;
		t[i].cpu = cpu;
		init_completion(&t[i].done);
		tasks[i] = kthread_create_on_cpu(flush_bench_thread, &t[i], cpu,
						 "iommu_flush_bench/%u");
		if (IS_ERR(tasks[i])) {
			ret = PTR_ERR(tasks[i]);
			tasks[i] = NULL;
			goto stop;
		}
		i++;
	}
	if (i < nr) {
		ret = -EINVAL;
		goto stop;
	}

	end = ktime_get_ns() + (u64)ms * NSEC_PER_MSEC;
	for (i = 0; i < nr; i++) {
		t[i].end_ns = end;
		wake_up_process(tasks[i]);
	}
	for (i = 0; i < nr; i++)
		wait_for_completion(&t[i].done);

	for (i = 0; i < nr; i++) {
		flushes += t[i].flushes;
		busy += t[i].busy_ns;
		worst = max(worst, t[i].max_ns);
	}
	len = scnprintf(b->result, sizeof(b->result),
			"threads %u ms %u flushes %llu flushes_per_s %llu mean_ns %llu max_ns %llu\n",
			nr, ms, flushes, flush_bench_div(flushes * MSEC_PER_SEC, ms),
			flush_bench_div(busy, flushes), worst);
	for (i = 0; i < nr; i++)
		len += scnprintf(b->result + len, sizeof(b->result) - len,
				 "cpu %u flushes %llu mean_ns %llu max_ns %llu\n",
				 t[i].cpu, t[i].flushes,
				 flush_bench_div(t[i].busy_ns, t[i].flushes),
				 t[i].max_ns);
	b->result_len = len;

stop:
	/* A thread not woken yet is stopped before it runs its function. */
	for (i = 0; i < nr; i++)
		if (tasks[i])
			kthread_stop(tasks[i]);
out:
	kfree(tasks);
	kfree(t);
	return ret;
}

static int flush_bench_run(struct flush_bench *b, unsigned int nr, unsigned int ms)
{
	struct device *dev = &b->pdev->dev;
	struct iommu_domain *domain;
	int ret;

	domain = iommu_paging_domain_alloc(dev);
	if (IS_ERR(domain))
		return PTR_ERR(domain);
	ret = iommu_attach_device(domain, dev);
	if (!ret) {
		ret = flush_bench_threads(b, domain, nr, ms);
		iommu_detach_device(domain, dev);
	}
	iommu_domain_free(domain);
	return ret;
}

static ssize_t flush_bench_write(struct file *file, const char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	struct flush_bench *b = file->private_data;
	unsigned int nr, ms;
	char buf[32];
	int ret;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (sscanf(buf, "%u %u", &nr, &ms) != 2)
		return -EINVAL;
	if (!nr || nr > num_online_cpus() || !ms || ms > FLUSH_BENCH_MAX_MS)
		return -EINVAL;

	mutex_lock(&b->lock);
	b->result_len = 0;
	ret = flush_bench_run(b, nr, ms);
	mutex_unlock(&b->lock);
	return ret ? ret : count;
}

static ssize_t flush_bench_read(struct file *file, char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct flush_bench *b = file->private_data;
	ssize_t ret;

	mutex_lock(&b->lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, b->result, b->result_len);
	mutex_unlock(&b->lock);
	return ret;
}

static const struct file_operations flush_bench_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = flush_bench_read,
	.write = flush_bench_write,
};

static int flush_bench_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct flush_bench *b;

	if (!device_iommu_mapped(&pdev->dev))
		return -ENODEV;
	b = devm_kzalloc(&pdev->dev, sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->pdev = pdev;
	mutex_init(&b->lock);
	/* One device at a time: a second one finds the directory there. */
	b->dir = debugfs_create_dir("iommu_flush_bench", NULL);
	if (IS_ERR(b->dir))
		return -EBUSY;
	debugfs_create_file("run", 0600, b->dir, b, &flush_bench_fops);
	pci_set_drvdata(pdev, b);
	return 0;
}

static void flush_bench_remove(struct pci_dev *pdev)
{
	struct flush_bench *b = pci_get_drvdata(pdev);

	/* Waits for a run in progress. */
	debugfs_remove_recursive(b->dir);
	mutex_destroy(&b->lock);
}

static struct pci_driver flush_bench_driver = {
	.name = "iommu_flush_bench",
	.probe = flush_bench_probe,
	.remove = flush_bench_remove,
};
builtin_pci_driver(flush_bench_driver);

// SPDX-License-Identifier: GPL-2.0

//! A log rate limit with the kernel's semantics (`___ratelimit()`): at most `burst` messages in
//! each window of `interval`; when a window closes, how many were held back is told once.
//!
//! Pure policy over a clock the caller reads, so that it can be tested on the host. The SMMUv3
//! driver's event log and the VT-d driver's fault log use the kernel's defaults, as the C
//! drivers' `DEFINE_RATELIMIT_STATE` and `__ratelimit()` do.

/// The kernel's `DEFAULT_RATELIMIT_INTERVAL`: 5 seconds.
pub(crate) const DEFAULT_INTERVAL_NS: u64 = 5_000_000_000;

/// The kernel's `DEFAULT_RATELIMIT_BURST`: 10 messages.
pub(crate) const DEFAULT_BURST: u32 = 10;

/// What to do with one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Print it.
    pub(crate) print: bool,
    /// A window closed with this many messages held back: say so first (0: nothing to say).
    pub(crate) suppressed: u32,
}

/// The state of one rate limit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimit {
    interval_ns: u64,
    burst: u32,
    /// When the current window began; `None` before the first message.
    begin: Option<u64>,
    printed: u32,
    missed: u32,
}

impl RateLimit {
    /// A limit of `burst` messages per `interval_ns`.
    pub(crate) const fn new(interval_ns: u64, burst: u32) -> Self {
        Self {
            interval_ns,
            burst,
            begin: None,
            printed: 0,
            missed: 0,
        }
    }

    /// Decides on a message at time `now_ns` (a monotonic clock).
    pub(crate) fn check(&mut self, now_ns: u64) -> Verdict {
        let mut suppressed = 0;
        match self.begin {
            Some(begin) if now_ns.wrapping_sub(begin) < self.interval_ns => {}
            Some(_) => {
                suppressed = self.missed;
                self.begin = Some(now_ns);
                self.printed = 0;
                self.missed = 0;
            }
            None => self.begin = Some(now_ns),
        }
        let print = self.printed < self.burst;
        if print {
            self.printed += 1;
        } else {
            self.missed = self.missed.saturating_add(1);
        }
        Verdict { print, suppressed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn burst_per_window_then_suppressed_count() {
        let mut rl = RateLimit::new(DEFAULT_INTERVAL_NS, DEFAULT_BURST);
        // A storm of 1000 messages within one second: 10 printed.
        let printed = (0..1000u64)
            .map(|i| rl.check(i * 1_000_000))
            .filter(|v| v.print)
            .count();
        assert_eq!(printed, 10);
        // Still inside the window.
        assert_eq!(
            rl.check(4 * S),
            Verdict {
                print: false,
                suppressed: 0
            }
        );
        // The next window says how many were held back, then prints again.
        assert_eq!(
            rl.check(5 * S),
            Verdict {
                print: true,
                suppressed: 991
            }
        );
        assert_eq!(
            rl.check(5 * S + 1),
            Verdict {
                print: true,
                suppressed: 0
            }
        );
    }

    #[test]
    fn storm_of_a_minute_prints_a_bounded_number() {
        let mut rl = RateLimit::new(DEFAULT_INTERVAL_NS, DEFAULT_BURST);
        // One message every 10 µs for 60 s.
        let printed = (0..6_000_000u64)
            .map(|i| rl.check(i * 10_000))
            .filter(|v| v.print)
            .count();
        assert_eq!(printed, 12 * 10);
    }

    #[test]
    fn quiet_sources_are_never_limited() {
        let mut rl = RateLimit::new(DEFAULT_INTERVAL_NS, DEFAULT_BURST);
        for i in 0..100 {
            assert_eq!(
                rl.check(i * S),
                Verdict {
                    print: true,
                    suppressed: 0
                }
            );
        }
    }
}

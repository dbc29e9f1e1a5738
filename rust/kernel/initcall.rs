// SPDX-License-Identifier: GPL-2.0

//! Built-in initcalls at a chosen level.
//!
//! `module!` runs a built-in module's init at the `device_initcall`
//! level. Some built-in code must run at another point of the boot: an x86 IOMMU driver, for
//! instance, must be up after PCI enumeration (`subsys_initcall`) and before the first PCI driver
//! probes (`device_initcall`), which is where the C side's `rootfs_initcall(pci_iommu_init)`
//! runs. [`builtin_initcall!`](crate::builtin_initcall) places a function at such a level.
//!
//! C header: [`include/linux/init.h`](srctree/include/linux/init.h)

/// Runs a function once at boot, at a given initcall level, in a built-in object.
///
/// `builtin_initcall!(LEVEL, NAME, FUNC)` defines an `extern "C"` function with the unmangled
/// symbol name `NAME` that calls `FUNC`, a `fn() -> Result`, and puts a pointer to it into the
/// initcall section of `LEVEL`: `fs`, `rootfs` (after `fs_initcall` and the populated root file
/// system, before `device_initcall`), `device` or `late`. An error is returned to the initcall
/// machinery as its errno (printed with `initcall_debug`). `NAME` is what the kernel parameter
/// `initcall_blacklist=NAME` names to keep the call out of a boot.
///
/// Only for code that is always built in: the object must not be part of a loadable module.
///
/// # Examples
///
/// ```ignore
/// fn init() -> Result {
///     pr_info!("up\n");
///     Ok(())
/// }
/// kernel::builtin_initcall!(rootfs, __my_driver_init, init);
/// ```
#[macro_export]
macro_rules! builtin_initcall {
    (fs, $name:ident, $func:path) => {
        $crate::__builtin_initcall!(".initcall5.init", $name, $func);
    };
    (rootfs, $name:ident, $func:path) => {
        $crate::__builtin_initcall!(".initcallrootfs.init", $name, $func);
    };
    (device, $name:ident, $func:path) => {
        $crate::__builtin_initcall!(".initcall6.init", $name, $func);
    };
    (late, $name:ident, $func:path) => {
        $crate::__builtin_initcall!(".initcall7.init", $name, $func);
    };
}

/// The implementation of [`builtin_initcall!`](crate::builtin_initcall), given the section.
///
/// Expands to items (`global_asm!` must be at item level): the function, and its entry in the
/// initcall section, a 32-bit offset to it where the architecture has PC-relative 32-bit
/// relocations (`CONFIG_HAVE_ARCH_PREL32_RELOCATIONS`), its address elsewhere, as
/// `__define_initcall()` emits it.
#[doc(hidden)]
#[macro_export]
macro_rules! __builtin_initcall {
    ($section:literal, $name:ident, $func:path) => {
        #[cfg(MODULE)]
        ::core::compile_error!("builtin_initcall! is for built-in code only");

        /// The initcall: runs the function and hands its error to the initcall machinery.
        #[no_mangle]
        extern "C" fn $name() -> $crate::ffi::c_int {
            let func: fn() -> $crate::error::Result = $func;
            match func() {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            }
        }

        #[cfg(CONFIG_HAVE_ARCH_PREL32_RELOCATIONS)]
        ::core::arch::global_asm!(::core::concat!(
            ".section \"",
            $section,
            "\", \"a\"\n",
            ".balign 4\n",
            ".long ",
            ::core::stringify!($name),
            " - .\n",
            ".previous\n"
        ));

        #[cfg(not(CONFIG_HAVE_ARCH_PREL32_RELOCATIONS))]
        ::core::arch::global_asm!(::core::concat!(
            ".section \"",
            $section,
            "\", \"a\"\n",
            ".balign 8\n",
            ".quad ",
            ::core::stringify!($name),
            "\n",
            ".previous\n"
        ));
    };
}

/// Defines `LocalModule`, the module type of a built-in crate that has no `module!`, for the
/// `OwnerModule` that `#[vtable]` impls name (`crate::LocalModule`): its `THIS_MODULE` is NULL,
/// as it is for all built-in code.
///
/// `builtin_module_metadata!(NAME)` takes the crate's name as a C string literal.
///
/// # Examples
///
/// ```ignore
/// kernel::builtin_module_metadata!(c"my_driver");
/// ```
#[macro_export]
macro_rules! builtin_module_metadata {
    ($name:expr) => {
        #[cfg(MODULE)]
        ::core::compile_error!("builtin_module_metadata! is for built-in code only");

        /// The crate's module: built in, without a `struct module`.
        #[allow(
            dead_code,
            reason = "only named as a type, the owner of `#[vtable]` impls"
        )]
        struct LocalModule;

        impl $crate::ModuleMetadata for LocalModule {
            const NAME: &'static $crate::str::CStr = $name;
            const THIS_MODULE: $crate::ThisModule = $crate::initcall::BUILTIN_THIS_MODULE;
        }
    };
}

/// The `THIS_MODULE` of built-in code, for
/// [`builtin_module_metadata!`](crate::builtin_module_metadata).
#[doc(hidden)]
pub const BUILTIN_THIS_MODULE: crate::ThisModule = {
    // SAFETY: Built-in code has no `struct module`: C's `THIS_MODULE` is NULL there
    // (`include/linux/init.h`), and `try_module_get()` and `module_put()` accept NULL.
    unsafe { crate::ThisModule::from_ptr(core::ptr::null_mut()) }
};

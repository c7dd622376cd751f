/**
 * System calls a sandboxed program never needs and which are the kernel's
 * favourite attack surface or reach beyond the sandbox. Whatever joins
 * ALLOWED_SYSCALLS, these never may: test/integration/seccomp.test.ts checks that the two
 * lists share no name. Like every call off the allowlist, each fails with EPERM.
 */
export const NEVER_ALLOWED_SYSCALLS: readonly string[] = [
  // Reading or steering other processes.
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd', 'process_madvise',
  // Namespaces and the mount table: bwrap has built the sandbox, the program must not rebuild it.
  'unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'chroot',
  'move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
  // File handles bypass path-based confinement.
  'open_by_handle_at', 'name_to_handle_at',
  // The kernel keyring is not namespaced.
  'keyctl', 'add_key', 'request_key',
  // Large, often exploited kernel subsystems.
  'bpf', 'perf_event_open', 'userfaultfd', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  'fanotify_init', 'lookup_dcookie',
  // Kernel modules and rebooting into another kernel.
  'init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'reboot',
  // Host administration.
  'swapon', 'swapoff', 'acct', 'quotactl', 'quotactl_fd', 'syslog', 'sethostname', 'setdomainname', 'vhangup',
  // The clock is shared by the whole host.
  'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex',
  // Legacy calls and direct I/O port access (x86_64 only).
  'uselib', 'ustat', 'sysfs', '_sysctl', 'iopl', 'ioperm',
];

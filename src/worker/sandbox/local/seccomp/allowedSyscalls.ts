/**
 * The system calls a sandboxed program may make whatever their arguments;
 * every other call fails with EPERM, including those of kernels newer than
 * this list. clone, clone3, ioctl, socket and personality are not here: the
 * filter judges them by their arguments.
 *
 * Derived from Docker's default seccomp profile (moby/profiles,
 * seccomp/default.json), which most container images and so most language
 * toolchains run under: the calls it allows a container without added
 * capabilities, limited to those the 6.1 kernel headers define. Left out of
 * Docker's list: NEVER_ALLOWED_SYSCALLS (it allows adjtimex, clock_adjtime
 * and name_to_handle_at), modify_ldt (16-bit segments for Wine and DOS
 * emulators, with a history of kernel bugs) and epoll_ctl_old/epoll_wait_old
 * (never implemented on x86_64).
 *
 * A name the architecture lacks (x86_64's legacy calls on aarch64) is
 * skipped there; every name needs its numbers in syscallNumbers.ts.
 */
export const ALLOWED_SYSCALLS: readonly string[] = [
  // Files: opening, reading, writing and flushing.
  'open', 'openat', 'openat2', 'creat', 'close', 'close_range',
  'read', 'write', 'readv', 'writev', 'pread64', 'pwrite64', 'preadv', 'pwritev', 'preadv2', 'pwritev2',
  'lseek', 'dup', 'dup2', 'dup3', 'fcntl', 'flock', 'fsync', 'fdatasync', 'sync', 'syncfs', 'sync_file_range',
  'fadvise64', 'readahead', 'fallocate', 'truncate', 'ftruncate',
  'sendfile', 'splice', 'tee', 'vmsplice', 'copy_file_range',
  // Files: metadata and the directory tree.
  'stat', 'lstat', 'fstat', 'newfstatat', 'statx', 'statfs', 'fstatfs', 'access', 'faccessat', 'faccessat2',
  'getdents', 'getdents64', 'getcwd', 'chdir', 'fchdir', 'mkdir', 'mkdirat', 'rmdir', 'mknod', 'mknodat',
  'link', 'linkat', 'symlink', 'symlinkat', 'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2',
  'readlink', 'readlinkat', 'chmod', 'fchmod', 'fchmodat', 'chown', 'fchown', 'lchown', 'fchownat', 'umask',
  'utime', 'utimes', 'futimesat', 'utimensat',
  'setxattr', 'lsetxattr', 'fsetxattr', 'getxattr', 'lgetxattr', 'fgetxattr',
  'listxattr', 'llistxattr', 'flistxattr', 'removexattr', 'lremovexattr', 'fremovexattr',
  // Files: change notification (fanotify_mark is useless without the refused fanotify_init) and async I/O.
  'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
  'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents', 'ioprio_get', 'ioprio_set',
  // Waiting on descriptors, and descriptors made for waiting.
  'poll', 'ppoll', 'select', 'pselect6',
  'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2',
  'pipe', 'pipe2', 'eventfd', 'eventfd2', 'signalfd', 'signalfd4', 'timerfd_create', 'timerfd_settime', 'timerfd_gettime',
  // Memory.
  'brk', 'mmap', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync', 'remap_file_pages',
  'mlock', 'mlock2', 'munlock', 'mlockall', 'munlockall', 'membarrier', 'memfd_create', 'memfd_secret',
  'pkey_alloc', 'pkey_free', 'pkey_mprotect',
  // Processes and threads.
  'fork', 'vfork', 'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'waitid',
  'kill', 'tkill', 'tgkill', 'pidfd_open', 'pidfd_send_signal', 'process_mrelease',
  'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
  'set_tid_address', 'set_robust_list', 'get_robust_list', 'futex', 'futex_waitv', 'rseq',
  'arch_prctl', 'set_thread_area', 'get_thread_area', 'prctl',
  // A program may confine itself further.
  'seccomp', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  // Identity: without capabilities, only within what the sandbox's uid already has.
  'getuid', 'geteuid', 'getgid', 'getegid', 'getresuid', 'getresgid', 'getgroups',
  'setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setfsuid', 'setfsgid', 'setgroups',
  'capget', 'capset',
  // Limits, usage and scheduling.
  'getrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'times', 'sysinfo', 'uname', 'getpriority', 'setpriority',
  'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getparam', 'sched_setparam',
  'sched_getscheduler', 'sched_setscheduler', 'sched_getattr', 'sched_setattr',
  'sched_get_priority_max', 'sched_get_priority_min', 'sched_rr_get_interval', 'getcpu',
  // Signals.
  'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigsuspend', 'rt_sigtimedwait',
  'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'sigaltstack', 'pause', 'restart_syscall', 'alarm',
  // Clocks, read and never set; timers; randomness.
  'time', 'gettimeofday', 'clock_gettime', 'clock_getres', 'clock_nanosleep', 'nanosleep',
  'getitimer', 'setitimer', 'timer_create', 'timer_delete', 'timer_settime', 'timer_gettime', 'timer_getoverrun',
  'getrandom',
  // Sockets, once made: the network namespace holds only loopback.
  'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'getsockname', 'getpeername',
  'sendto', 'recvfrom', 'sendmsg', 'recvmsg', 'sendmmsg', 'recvmmsg', 'setsockopt', 'getsockopt', 'shutdown',
  // System V and POSIX IPC, private to the sandbox's IPC namespace.
  'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semctl', 'shmget', 'shmat', 'shmdt', 'shmctl',
  'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr',
];

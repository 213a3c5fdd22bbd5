package seccompfilter

// allowedSyscalls are the only syscalls a command may make; every other
// one fails with ENOSYS, as on a kernel that lacks it, so a syscall a
// future kernel adds is refused until it is listed here (and libc falls
// back to an older one, as it does for clone3). The list is what shells,
// coreutils, compilers, interpreters, package managers and network
// clients use, in the spirit of the container runtimes' default
// profiles. Names unknown to an architecture (open on arm64) are skipped.
// Some are still refused by argument (socket families, ioctl requests,
// namespace clone flags, device mknod) in program_linux.go.
var allowedSyscalls = []string{
	// files and directories
	"access", "faccessat", "faccessat2", "chdir", "fchdir", "getcwd", "chmod", "fchmod", "fchmodat", "fchmodat2",
	"chown", "fchown", "fchownat", "lchown", "close", "close_range", "creat", "dup", "dup2", "dup3",
	"fadvise64", "fallocate", "fcntl", "fdatasync", "flock", "fstat", "newfstatat", "fstatfs", "statfs", "stat", "lstat", "statx",
	"fsync", "ftruncate", "truncate", "getdents", "getdents64", "link", "linkat", "lseek", "mkdir", "mkdirat",
	"mknod", "mknodat", "open", "openat", "openat2", "read", "readv", "pread64", "preadv", "preadv2",
	"write", "writev", "pwrite64", "pwritev", "pwritev2", "readahead", "readlink", "readlinkat",
	"rename", "renameat", "renameat2", "rmdir", "symlink", "symlinkat", "unlink", "unlinkat", "umask",
	"utime", "utimes", "utimensat", "futimesat", "sync", "syncfs", "sync_file_range",
	"copy_file_range", "sendfile", "splice", "tee", "vmsplice",
	"getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
	"listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
	"inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch", "ioctl",
	"memfd_create", "pipe", "pipe2",
	// memory
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock", "mlock2", "munlock",
	"mlockall", "munlockall", "membarrier", "remap_file_pages", "pkey_alloc", "pkey_free", "pkey_mprotect",
	"get_mempolicy", "set_mempolicy", "mbind",
	// processes, threads and signals
	"arch_prctl", "clone", "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
	"kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "rt_sigaction", "rt_sigpending",
	"rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo",
	"sigaltstack", "signalfd", "signalfd4", "pause", "restart_syscall", "set_tid_address", "set_robust_list",
	"get_robust_list", "rseq", "futex", "futex_waitv", "get_thread_area", "set_thread_area", "prctl", "seccomp",
	"getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid",
	"capget", "capset", "getpriority", "setpriority", "getrlimit", "setrlimit", "prlimit64", "getrusage",
	"sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam", "sched_setparam",
	"sched_getscheduler", "sched_setscheduler", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "sched_getattr", "sched_setattr", "ioprio_get", "ioprio_set", "getcpu",
	"landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
	// time
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time", "times",
	"alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
	"timer_settime", "timerfd_create", "timerfd_gettime", "timerfd_settime",
	// waiting for events
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	"io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
	// sockets
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "shutdown",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg",
	"sendmmsg", "recvmmsg",
	// System V and POSIX IPC (the sandbox's own IPC namespace)
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
	"mq_notify", "mq_getsetattr",
	// system information
	"uname", "sysinfo", "getrandom",
}

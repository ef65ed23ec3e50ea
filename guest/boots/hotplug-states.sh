# Every CPU-hotplug state of CPU 2 while VMs run on CPUs 0-1 (needs
# CONFIG_CPU_HOTPLUG_STATE_CONTROL): for each state between offline and
# online, CPU 2 is stopped there on the way up (from offline) and on the
# way down (from online), then a failure is injected there once on the way
# up and once on the way down (hotplug/fail).  After each step: CPU 2 is
# where it was sent (or back where it started, after a failure), hardware
# virtualization is on there exactly when its state is at or past KVM's own
# (a VM exists throughout), and it onlines again.  The table of states x
# results is $WB_RESULTS/hotplug-states.tsv.  (3 CPUs.)
. "$WB_TOP/guest/lib.sh"

cpu=2
hp=/sys/devices/system/cpu/cpu$cpu/hotplug
table=$WB_RESULTS/hotplug-states.tsv

state_now() { cat "$hp/state"; }
# target_to N: write N to hotplug/target; prints the error of a refused write
target_to() {
	local err rc
	err=$( { echo "$1" > "$hp/target"; } 2>&1 ); rc=$?
	[ $rc = 0 ] || echo "${err##*: }"
	return $rc
}
# fail_at N: arm the failure injection at state N (-1 disarms)
fail_at() {
	local err rc
	err=$( { echo "$1" > "$hp/fail"; } 2>&1 ); rc=$?
	[ $rc = 0 ] || echo "${err##*: }"
	return $rc
}
# virt_now: on, off, or "-" when CPU 2 is not in the online mask (wb_virt
# reads only CPUs there)
virt_now() {
	local l
	l=$(grep "^cpu$cpu " /sys/kernel/debug/wb_virt) || { echo -; return; }
	case $l in *"$VIRTBIT=1"*) echo on ;; *) echo off ;; esac
}
# virt_ok STATE: virtualization on CPU 2 is what its state says, with a VM
# open: on at or past KVM's state, off before it ("-": not readable there)
virt_ok() {
	local v; v=$(virt_now)
	[ "$v" = - ] && return 0
	if [ "$1" -ge "$kvm_state" ]; then [ "$v" = on ]; else [ "$v" = off ]; fi
}
# back_online: send CPU 2 back online; the state must be the online one
back_online() {
	target_to "$online" >/dev/null
	[ "$(state_now)" = "$online" ]
}
back_offline() {
	target_to 0 >/dev/null
	[ "$(state_now)" = 0 ]
}

# inject S up|down: a failure armed at state S (hotplug/fail), then CPU 2
# sent online (up, from offline) or offline (down, from online); it must end
# where it started.  Sets cell (the table's two columns) and the counts.
inject() {
	local s=$1 dir=$2 start=0 to=1 r res st v
	[ "$dir" = down ] && { start=$online; to=0; }
	if ! r=$(fail_at "$s"); then
		fail_at -1 >/dev/null
		cell="refused:${r// /_}	-"
		return
	fi
	if set_online "$cpu" "$to" >/dev/null; then
		res=not-reached		# no callback of S runs that way
	else
		eval "injected_$dir=\$((injected_$dir + 1))"
		st=$(state_now)
		if [ "$st" = "$start" ]; then res=rolled-back
		else
			res="at-$st"
			eval "f${dir}_bad=\$((f${dir}_bad + 1))"
			echo "failure at $s ($name) $dir: CPU $cpu at state $st"
		fi
	fi
	fail_at -1 >/dev/null
	v=$(virt_now)
	virt_ok "$(state_now)" || { vfail_bad=$((vfail_bad + 1)); echo "failure at $s ($name) $dir: virtualization $v"; }
	cell="$res	$v"
}

check "kvm and kvm-amd load" load_kvm
check "a VM is held open on CPU 0" hold_vm 0
"$KVMTEST" churn --threads 2 --seconds 100000 --cpus 0-1 > /tmp/churn.out 2>&1 &
churn=$!

# "  N: name" per named state (one list for every CPU); KVM's own state
# is named kvm/cpu:...
states=$(sed -n 's/^ *\([0-9]*\): \(.*\)$/\1 \2/p' /sys/devices/system/cpu/hotplug/states)
online=$(echo "$states" | awk '$2 == "online" { print $1 }')
kvm_state=$(echo "$states" | awk '$2 ~ /^kvm\/cpu:/ { print $1 }')
echo "hotplug states of CPU $cpu: $(echo "$states" | wc -l) named, online=$online, KVM's: $kvm_state ($(echo "$states" | awk -v k="$kvm_state" '$1 == k { print $2 }'))"
check "CPU $cpu lists its hotplug states, KVM's among them" test -n "$online" -a -n "$kvm_state"
# a target between offline and online is accepted only with
# CONFIG_CPU_HOTPLUG_STATE_CONTROL (otherwise EINVAL for every one)
echo "state	name	up	virt-up	down	virt-down	fail-up	virt-fail-up	fail-down	virt-fail-down" > "$table"

up_bad=0 down_bad=0 vup_bad=0 vdown_bad=0 fup_bad=0 fdown_bad=0 vfail_bad=0 again_bad=0
stopped=0 injected_up=0 injected_down=0
while read -r s name; do
	[ "$s" = 0 ] || [ "$s" = "$online" ] && continue
	row="$s	$name"
	# up: offline -> s
	back_offline || again_bad=$((again_bad + 1))
	if r=$(target_to "$s"); then
		st=$(state_now)
		if [ "$st" = "$s" ]; then stopped=$((stopped + 1)); up=stopped
		else up="at-$st"; up_bad=$((up_bad + 1)); echo "up to $s ($name): CPU $cpu at state $st"; fi
		v=$(virt_now)
		virt_ok "$st" || { vup_bad=$((vup_bad + 1)); echo "up to $s ($name): virtualization $v"; }
		row="$row	$up	$v"
	else
		# refused: a state that cannot be stopped at (cant_stop)
		row="$row	refused:${r// /_}	-"
	fi
	back_online || { again_bad=$((again_bad + 1)); echo "after up to $s ($name): not back online (state $(state_now))"; }
	# down: online -> s
	if r=$(target_to "$s"); then
		st=$(state_now)
		if [ "$st" = "$s" ]; then down=stopped
		else down="at-$st"; down_bad=$((down_bad + 1)); echo "down to $s ($name): CPU $cpu at state $st"; fi
		v=$(virt_now)
		virt_ok "$st" || { vdown_bad=$((vdown_bad + 1)); echo "down to $s ($name): virtualization $v"; }
		row="$row	$down	$v"
	else
		row="$row	refused:${r// /_}	-"
	fi
	back_online || { again_bad=$((again_bad + 1)); echo "after down to $s ($name): not back online (state $(state_now))"; }
	# a failure at s on the way up (CPU 2 must end offline, where it
	# started) and on the way down (it must end online)
	back_offline || again_bad=$((again_bad + 1))
	inject "$s" up; row="$row	$cell"
	back_online || { again_bad=$((again_bad + 1)); echo "after failure at $s ($name) up: not back online (state $(state_now))"; }
	inject "$s" down; row="$row	$cell"
	back_online || { again_bad=$((again_bad + 1)); echo "after failure at $s ($name) down: not back online (state $(state_now))"; }
	echo "$row" >> "$table"
done <<EOF
$states
EOF
cat "$table"
echo "stopped at $stopped states on the way up; failures injected: $injected_up up, $injected_down down"
check "CPU $cpu stops at intermediate states (CONFIG_CPU_HOTPLUG_STATE_CONTROL)" test "$stopped" -gt 0
check "CPU $cpu stops at every state it accepts as a target, on the way up" test "$up_bad" = 0
check "CPU $cpu stops at every state it accepts as a target, on the way down" test "$down_bad" = 0
check "virtualization on CPU $cpu exactly at or past KVM's state, on the way up" test "$vup_bad" = 0
check "virtualization on CPU $cpu exactly at or past KVM's state, on the way down" test "$vdown_bad" = 0
check "failures are injected on the way up and down" test "$injected_up" -gt 0 -a "$injected_down" -gt 0
check "a failure injected at any state on the way up leaves CPU $cpu offline" test "$fup_bad" = 0
check "a failure injected at any state on the way down leaves CPU $cpu online" test "$fdown_bad" = 0
check "virtualization on CPU $cpu matches its state after every injected failure" test "$vfail_bad" = 0
check "CPU $cpu goes back offline and online after every step" test "$again_bad" = 0
kill -INT $churn; wait $churn; churn_rc=$?
cat /tmp/churn.out
check "every VM created on CPUs 0-1 meanwhile ran (churn)" test "$churn_rc" = 0
check "$VIRTNAME set on every online CPU while a VM exists" all_virt 1
check "the held VM ran throughout" release_vm
check "$VIRTNAME clear on every CPU after the last VM closed" all_virt 0
check "a VM created afterwards runs on CPU $cpu" "$KVMTEST" run --cpu "$cpu"

#!/usr/bin/env bash
# Posting layer: each series as it would go to the list, prepared with b4
# (Debian 12's b4 0.12), the way KVM series are posted.  Nothing is mailed.
#   scripts/post.sh [6.1|6.12]        (default 6.1)
# In a throwaway clone of the kernel tree (build/post/<ver>/repo, branch
# "series" of build/linux or build/linux-6.12), b4 does what the hand-made
# export (scripts/series.sh export) does not:
#   b4 prep -e base           enrolls the branch: change-id, the cover letter
#                             kept as a commit at the base
#   b4 prep --edit-cover      the cover letter: config/cover-letter.txt (6.1)
#                             or config/cover-letter-6.12.txt, first line the
#                             subject, and the base it applies to
#   b4 prep --force-revision  the version (v3 for 6.1, v1 for 6.12) and
#   --set-prefixes            its prefix (RFC for 6.12)
#   b4 prep --auto-to-cc      To/Cc from scripts/get_maintainer.pl over the
#                             series (b4's default command)
#   b4 send -o DIR            numbered, threaded messages with the shortlog,
#                             diffstat and base-commit, written to
#                             build/post/<ver>/msgs/ instead of sent
# patches/ stays git format-patch's output: it is what "make apply" and the
# round-trip check read.  The script checks what b4 wrote: one message per
# patch plus the cover letter, each addressed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ver=${1:-6.1}
case $ver in
6.1) src=$top/build/linux cover=$top/config/cover-letter.txt rev=3 prefixes= ;;
6.12) src=$top/build/linux-6.12 cover=$top/config/cover-letter-6.12.txt rev=1 prefixes=RFC ;;
*) echo "post: unknown series '$ver' (6.1 or 6.12)" >&2; exit 2 ;;
esac
command -v b4 >/dev/null || { echo "post: b4 is not installed (scripts/deps.sh)" >&2; exit 1; }
git -C "$src" rev-parse -q --verify "refs/heads/series" >/dev/null ||
	{ echo "post: ${src#$top/} has no branch 'series' (make apply)" >&2; exit 1; }
[ -f "$cover" ] || { echo "post: no cover letter text ${cover#$top/}" >&2; exit 1; }
[ -z "$(sed -n 2p "$cover")" ] ||
	{ echo "post: ${cover#$top/}: the first line is the subject, the second must be empty" >&2; exit 1; }
out=$top/build/post/$ver
repo=$out/repo msgs=$out/msgs
rm -rf "$out" && mkdir -p "$out"
t0=$(date +%s)

git clone -q --shared --no-checkout -b series "$src" "$repo"
g() { git -C "$repo" "$@"; }
g fetch -q origin 'refs/tags/base:refs/tags/base'
g checkout -q series
g config user.name "KVM Hotplug Project"
g config user.email kvm-hotplug@project.invalid
# b4 sends through SMTP unless told otherwise; with -o nothing is sent, but
# without an SMTP server it would pick its web endpoint (which needs signing)
g config sendemail.smtpserver localhost
n=$(g rev-list --count base..series)

# b4 runs "git filter-repo" and get_maintainer.pl from the tree's top
cd "$repo"
b4 prep -e base > "$out/prep.log" 2>&1
# the cover letter: our text, the base line, the sign-off, then b4's
# tracking section as b4 wrote it (b4 calls $EDITOR on that file)
body=$out/cover.txt
{
	cat "$cover"
	printf '\nBase: Linux %s as shipped in Debian'"'"'s linux-source-%s package\n' \
		"$(cat "$top/config/base-version$([ "$ver" = 6.1 ] || echo "-$ver")")" "$ver"
	printf '(tag base of the workbench'"'"'s tree; b4 adds base-commit below).\n\n'
	echo "Signed-off-by: KVM Hotplug Project <kvm-hotplug@project.invalid>"
	echo
} > "$body"
grep -q '@@' "$body" && { echo "post: ${cover#$top/} still has a placeholder:" >&2; grep -n '@@' "$body" >&2; exit 1; }
cat > "$out/editor.sh" <<EOF
#!/bin/sh
{ cat "$body"; sed -n '/^--- b4-submit-tracking ---\$/,\$p' "\$1"; } > "\$1.new" && mv "\$1.new" "\$1"
EOF
chmod +x "$out/editor.sh"
EDITOR=$out/editor.sh b4 prep --edit-cover >> "$out/prep.log" 2>&1
b4 prep --force-revision "$rev" >> "$out/prep.log" 2>&1
[ -z "$prefixes" ] || b4 prep --set-prefixes $prefixes >> "$out/prep.log" 2>&1
b4 prep --auto-to-cc >> "$out/prep.log" 2>&1
b4 send -o "$msgs" --no-sign > "$out/send.log" 2>&1 ||
	{ echo "post: b4 send failed:" >&2; tail -5 "$out/send.log" >&2; exit 1; }

# what b4 wrote: the cover letter and one message per patch, each addressed
shopt -s nullglob
files=("$msgs"/*.eml)
bad=0
[ ${#files[@]} = $((n + 1)) ] || { echo "post: b4 wrote ${#files[@]} messages for $n patches" >&2; bad=1; }
for f in "${files[@]}"; do
	grep -q '^To: ' "$f" || { echo "post: ${f#$top/} has no To:" >&2; bad=1; }
done
subject=$(sed -n 's/^Subject: //p' "${files[0]}" | head -1)
echo "post: $ver: b4 wrote ${#files[@]} messages to ${msgs#$top/}/ ($(($(date +%s) - t0))s)"
echo "post: $ver: cover: $subject"
# the cover letter's header, continuation lines joined
hdr=$(sed '/^$/q' "${files[0]}" | sed -e ':a' -e '$!N;s/\n[ \t]\+/ /;ta' -e 'P;D')
echo "post: $ver: To: $(echo "$hdr" | grep '^To: ' | grep -o '@' | wc -l) addresses, Cc: $(echo "$hdr" | grep '^Cc: ' | grep -o '@' | wc -l)"
exit $bad

#!/bin/sh
# make check-style: one formatting style (.clang-format) and a list of banned
# functions (after curl's checksrc). Exits non-zero on any finding.
set -u
cd "$(dirname "$0")/.."
status=0
files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h')

# Banned: unbounded writes and unchecked conversions of untrusted text.
banned='\b(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|atoll|sscanf|strtok|rand|srand)[[:space:]]*\('
for f in $files; do
	hits=$(sed -e 's://.*$::' "$f" | grep -nE "$banned" | grep -vE '^\s*[0-9]+:\s*\*' || true)
	if [ -n "$hits" ]; then
		echo "$f: banned function:"
		echo "$hits" | sed 's/^/  /'
		status=1
	fi
done

# Formatting: report files clang-format would change.
if command -v clang-format >/dev/null 2>&1; then
	for f in $files; do
		if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
			echo "$f: not formatted (run: clang-format -i $f)"
			status=1
		fi
	done
else
	echo "clang-format not installed; run make deps" >&2
	status=1
fi
[ $status -eq 0 ] && echo "style: ok"
exit $status

#!/usr/bin/env bash
# Opt-in check (not part of ctest; CI has no copy of Apple's sources): runs emu/iig/iig.py on
# Apple's own .iig files and reports how many classes it generates.
#
#   tests/iig/run_on_apple_sources.sh SOURCE...
#
# Each SOURCE is a directory holding .iig files (e.g. a checkout's iokit/DriverKit or
# PCIDriverKit) or a git repository of apple-oss-distributions/xnu or /IOPCIFamily (bare or
# not; its iokit/DriverKit/*.iig and PCIDriverKit/*.iig at HEAD are used). The files are laid
# out as <dir name>/<file>.iig in a scratch directory, so `#include <DriverKit/OSObject.iig>`
# finds its base classes (-I).
#
# Environment:
#   IIG_DEFINES="A=1 B"   macros for the #if lines iig decides (Apple's reference output of
#                         iig-re was made with DRIVERKIT_PRIVATE=1 PRIVATE_WIFI_ONLY=1)
#   IIG_APPLE_OUTPUT=DIR  headers Apple's iig generated from the same files (<Name>.h): the set
#                         of <Class>_<Method>_Args macros of each is compared with ours
#   PYTHON                the interpreter (default python3)
#
# Exit status: 0 when every file generates (and every compared header matches), 1 otherwise,
# 2 for usage errors.
set -u

here="$(cd "$(dirname "$0")" && pwd)"
iig="$here/../../emu/iig/iig.py"
python="${PYTHON:-python3}"

if [ $# -eq 0 ]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  echo "skipped: no Apple sources given" >&2
  exit 2
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/in" "$scratch/out"

add_dir() {  # <dir name> <files...>
  local name="$1"
  shift
  mkdir -p "$scratch/in/$name"
  cp "$@" "$scratch/in/$name/"
}

for src in "$@"; do
  if git -C "$src" rev-parse --git-dir > /dev/null 2>&1 && \
      git -C "$src" rev-parse --verify -q HEAD > /dev/null; then
    found=0
    while IFS= read -r path; do
      [ -n "$path" ] || continue
      dir="$(basename "$(dirname "$path")")"
      mkdir -p "$scratch/in/$dir"
      git -C "$src" show "HEAD:$path" > "$scratch/in/$dir/$(basename "$path")"
      found=$((found + 1))
    done < <(git -C "$src" ls-tree -r --name-only HEAD |
             grep -E '^(iokit/DriverKit|PCIDriverKit)/[^/]*\.iig$')
    echo "$src: $found .iig files at $(git -C "$src" rev-parse --short HEAD)"
  elif [ -d "$src" ]; then
    mapfile -t files < <(find "$src" -maxdepth 1 -name '*.iig' | sort)
    if [ ${#files[@]} -eq 0 ]; then
      echo "$src: no .iig files" >&2
      exit 2
    fi
    add_dir "$(basename "$(cd "$src" && pwd)")" "${files[@]}"
    echo "$src: ${#files[@]} .iig files"
  else
    echo "$src: not a directory or git repository" >&2
    exit 2
  fi
done

defines=()
for d in ${IIG_DEFINES:-}; do defines+=(-D "$d"); done

status=0
files=0
classes=0
failed=0
while IFS= read -r f; do
  name="$(basename "$f" .iig)"
  files=$((files + 1))
  if ! "$python" -B "$iig" --input "$f" --header "$scratch/out/$name.h" \
      --impl "$scratch/out/$name.iig.cpp" -I "$scratch/in" "${defines[@]}" \
      2> "$scratch/err"; then
    failed=$((failed + 1))
    status=1
    echo "FAIL $name.iig: $(cat "$scratch/err")"
    continue
  fi
  n=$(grep -c '^// ---- class ' "$scratch/out/$name.h")
  names=$(grep -o '^// ---- class [A-Za-z_0-9]*' "$scratch/out/$name.h" | sed 's/.* //' |
          tr '\n' ' ')
  extra=$(grep -c '^// class .*(line [0-9]*): ' "$scratch/out/$name.h")
  classes=$((classes + n))
  line="ok   $name.iig: $n class(es) generated: $names"
  [ "$extra" -gt 0 ] && line="$line(+$extra root/EXTENDS folded in)"
  if [ -n "${IIG_APPLE_OUTPUT:-}" ] && [ -f "$IIG_APPLE_OUTPUT/$name.h" ]; then
    ours=$(grep -o '^#define [A-Za-z_0-9]*_Args' "$scratch/out/$name.h" | sort -u)
    theirs=$(grep -o '^#define [A-Za-z_0-9]*_Args' "$IIG_APPLE_OUTPUT/$name.h" | sort -u)
    if [ "$ours" = "$theirs" ]; then
      line="$line; _Args as Apple's ($(echo "$theirs" | grep -c .))"
    else
      status=1
      line="$line; _Args DIFFER from Apple's:"$'\n'"$(diff <(echo "$theirs") <(echo "$ours") |
             grep '^[<>]' | sed 's/^</    only Apple:/; s/^>/    only ours: /')"
    fi
  fi
  echo "$line"
done < <(find "$scratch/in" -name '*.iig' | sort)

echo "$files files, $classes classes generated, $failed failed"
exit $status

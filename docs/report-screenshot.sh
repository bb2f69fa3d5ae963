#!/bin/sh
# Screenshot of the top of a report, as a person sees it in a browser (headless Chromium,
# Debian's `chromium` package). Usage: docs/report-screenshot.sh [REPORT_DIR] [OUT.png]
# Without REPORT_DIR it makes one: the liquidity-shock sweep at 30 days (144 runs, a few
# minutes on 2 cores) and its report, under /tmp/taosim-shot.
set -eu
dir=${1:-}
out=${2:-docs/src/images/report-liquidity-shock.png}
taosim=${TAOSIM:-target/release/taosim}
if [ -z "$dir" ]; then
    dir=/tmp/taosim-shot/report
    if [ ! -f /tmp/taosim-shot/sweep/summary.csv ]; then
        "$taosim" sweep scenarios/sweeps/liquidity-shock.toml --set 'run.horizon="30d"' --out /tmp/taosim-shot/sweep --quiet
    fi
    "$taosim" report /tmp/taosim-shot/sweep --out "$dir" --quiet > /dev/null
fi
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2600 \
    --screenshot="$out" "file://$(cd "$dir" && pwd)/report.html" 2> /dev/null
echo "$out"

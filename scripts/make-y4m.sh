#!/usr/bin/env bash
# make-y4m.sh — builds a fake-camera clip for Chromium
# (--use-file-for-fake-video-capture) from still images.
#
#   scripts/make-y4m.sh [-o OUT.y4m] [-r FPS] IMAGE[:SECONDS[:OPTS]] ...
#
# Each image is scaled to fit 640×480 (aspect kept), padded with mid grey,
# held for SECONDS (default 1), and the images are played one after another
# at FPS (default 10) as 4:2:0 YUV4MPEG. OPTS, comma-separated: "hflip"
# mirrors the image; "edge" pads with the image's own edge pixels instead of
# grey (a flat frame around a face looks like a photo of a photo to passive
# liveness).
# The default output is .cache/y4m/<first-image-name>.y4m (git-ignored).
# Same filter graph as browsertest.BuildClip in internal/web/browsertest.
#
# Example: a face held 2 s, then the same face mirrored for 2 s:
#   scripts/make-y4m.sh -o .cache/y4m/amy.y4m \
#     ../shared/fixtures/faces/bbt/amy/amy1.png:2 ../shared/fixtures/faces/bbt/amy/amy1.png:2:hflip,edge
set -euo pipefail

W=640 H=480 FPS=10 PAD=0x808080 OUT=""
usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while getopts "o:r:h" opt; do
	case $opt in
	o) OUT=$OPTARG ;;
	r) FPS=$OPTARG ;;
	h) usage 0 ;;
	*) usage 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage 2
for tool in ffmpeg ffprobe; do
	command -v $tool >/dev/null || { echo "make-y4m: $tool not found (run scripts/setup-system.sh)" >&2; exit 1; }
done

root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$OUT" ]; then
	first=${1%%:*}
	first=$(basename "${first%.*}")
	OUT="$root/.cache/y4m/$first.y4m"
fi
mkdir -p "$(dirname "$OUT")"

inputs=() filter="" labels="" i=0
for spec in "$@"; do
	IFS=: read -r img secs opts <<<"$spec"
	secs=${secs:-1}
	[ -f "$img" ] || { echo "make-y4m: no such image: $img" >&2; exit 1; }
	flip=0 edge=0
	IFS=, read -ra optlist <<<"$opts"
	for o in "${optlist[@]}"; do
		case $o in
		hflip) flip=1 ;;
		edge) edge=1 ;;
		*) echo "make-y4m: unknown option '$o' (hflip, edge)" >&2; exit 2 ;;
		esac
	done
	# The fitted size, computed here so the pad and the edge fill agree.
	IFS=, read -r iw ih < <(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$img")
	read -r w h < <(awk -v iw="$iw" -v ih="$ih" -v W="$W" -v H="$H" 'BEGIN {
		s = W / iw; if (H / ih < s) s = H / ih
		w = int(iw * s + 0.5); h = int(ih * s + 0.5)
		if (w > W) w = W; if (h > H) h = H; if (w < 1) w = 1; if (h < 1) h = 1
		print w, h }')
	x=$(((W - w) / 2)) y=$(((H - h) / 2))
	inputs+=(-loop 1 -framerate "$FPS" -t "$secs" -i "$img")
	f="[$i:v]scale=$w:$h:flags=lanczos,format=gbrp,pad=$W:$H:$x:$y:color=$PAD"
	if [ $edge = 1 ] && { [ "$w" -lt $W ] || [ "$h" -lt $H ]; }; then
		f="$f,fillborders=left=$x:right=$((W - w - x)):top=$y:bottom=$((H - h - y)):mode=smear"
	fi
	f="$f,setsar=1,format=yuv420p"
	[ $flip = 1 ] && f="$f,hflip"
	filter+="$f,fps=$FPS[v$i];"
	labels+="[v$i]"
	i=$((i + 1))
done
filter+="${labels}concat=n=$i:v=1:a=0[out]"

tmp="$OUT.tmp$$"
trap 'rm -f "$tmp"' EXIT
ffmpeg -hide_banner -loglevel error -y "${inputs[@]}" -filter_complex "$filter" -map "[out]" \
	-r "$FPS" -pix_fmt yuv420p -f yuv4mpegpipe "$tmp"
mv "$tmp" "$OUT"
frames=$(( ($(stat -c %s "$OUT") - $(head -c 200 "$OUT" | head -n1 | wc -c)) / (W * H * 3 / 2 + 6) ))
echo "$OUT: ${W}x${H} @ ${FPS} fps, $frames frames"

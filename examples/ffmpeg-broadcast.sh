#!/usr/bin/env bash
# Streams into a room with ffmpeg over the broadcaster API: a test pattern and
# tone by default, or a media file (looped). Everyone in the room sees it as a
# peer named "ffmpeg" publishing VP8 video and Opus audio.
#
#   export SFU_API_KEY=$(npm run --silent token -- --room demo --identity ffmpeg --role service)
#   SERVER_URL=https://localhost:4443 ROOM_ID=demo BROADCASTER_ID=ffmpeg examples/ffmpeg-broadcast.sh
#   MEDIA_FILE=talk.mp4 ROOM_ID=demo BROADCASTER_ID=ffmpeg examples/ffmpeg-broadcast.sh
#
# SFU_API_KEY is the credential of the broadcaster API: a join token of role
# "service" for the room whose identity is BROADCASTER_ID (as above), or one
# of the server's auth.serviceApiKeys.
# Needs curl, jq and ffmpeg (Debian: apt-get install curl jq ffmpeg).
# Environment: SFU_API_KEY, SERVER_URL, ROOM_ID, BROADCASTER_ID, MEDIA_FILE, DURATION
# (seconds, 0 = until stopped), CURL_OPTS (default -k, for the self-signed
# certificate; set it to "" with a real one).
set -euo pipefail

SERVER_URL=${SERVER_URL:-https://localhost:4443}
ROOM_ID=${ROOM_ID:-demo}
BROADCASTER_ID=${BROADCASTER_ID:-ffmpeg-$$}
MEDIA_FILE=${MEDIA_FILE:-}
DURATION=${DURATION:-0}
CURL_OPTS=${CURL_OPTS--k}
if [ -z "${SFU_API_KEY:-}" ]; then
	echo "SFU_API_KEY is not set: the broadcaster API needs a service token or API key (see the top of $0)" >&2
	exit 2
fi
AUDIO_SSRC=11111111
VIDEO_SSRC=22222222

api() { # METHOD PATH [JSON]
	# shellcheck disable=SC2086
	curl -sS --fail-with-body $CURL_OPTS -X "$1" -H 'Content-Type: application/json' -H "Authorization: Bearer $SFU_API_KEY" \
		"$SERVER_URL/api/rooms/$ROOM_ID$2" ${3:+--data "$3"}
}

api POST /broadcasters "{\"id\":\"$BROADCASTER_ID\",\"displayName\":\"ffmpeg\",\"device\":{\"name\":\"ffmpeg\"}}" >/dev/null
trap 'api DELETE "/broadcasters/$BROADCASTER_ID" >/dev/null || true' EXIT

# One PlainTransport per stream; comedia: the server learns ffmpeg's ports from its first packets.
audio=$(api POST "/broadcasters/$BROADCASTER_ID/transports" '{"type":"plain","comedia":true,"rtcpMux":false}')
video=$(api POST "/broadcasters/$BROADCASTER_ID/transports" '{"type":"plain","comedia":true,"rtcpMux":false}')

api POST "/broadcasters/$BROADCASTER_ID/transports/$(jq -r .id <<<"$audio")/producers" \
	"{\"kind\":\"audio\",\"appData\":{\"source\":\"mic\"},\"rtpParameters\":{\"codecs\":[{\"mimeType\":\"audio/opus\",\"payloadType\":100,\"clockRate\":48000,\"channels\":2,\"parameters\":{\"sprop-stereo\":1}}],\"encodings\":[{\"ssrc\":$AUDIO_SSRC}]}}" >/dev/null
api POST "/broadcasters/$BROADCASTER_ID/transports/$(jq -r .id <<<"$video")/producers" \
	"{\"kind\":\"video\",\"appData\":{\"source\":\"webcam\"},\"rtpParameters\":{\"codecs\":[{\"mimeType\":\"video/VP8\",\"payloadType\":101,\"clockRate\":90000}],\"encodings\":[{\"ssrc\":$VIDEO_SSRC}]}}" >/dev/null

if [ -n "$MEDIA_FILE" ]; then
	input=(-re -stream_loop -1 -i "$MEDIA_FILE")
	audio_map=0:a:0
else
	input=(-re -f lavfi -i testsrc2=size=1280x720:rate=30 -re -f lavfi -i sine=frequency=440:sample_rate=48000)
	audio_map=1:a:0
fi
limit=()
[ "$DURATION" != 0 ] && limit=(-t "$DURATION")

rtp() { # transport JSON → rtp:// URL with its RTCP port
	echo "rtp://$(jq -r .ip <<<"$1"):$(jq -r .port <<<"$1")?rtcpport=$(jq -r .rtcpPort <<<"$1")&pkt_size=1200"
}

echo "broadcasting into room $ROOM_ID as $BROADCASTER_ID (Ctrl-C to stop)" >&2
ffmpeg -hide_banner -loglevel error "${input[@]}" "${limit[@]}" \
	-map 0:v:0 -c:v libvpx -pix_fmt yuv420p -b:v 1000k -deadline realtime -cpu-used 8 -g 60 -keyint_min 60 \
	-map "$audio_map" -c:a libopus -b:a 96k -ac 2 -ar 48000 \
	-f tee "[select=v:f=rtp:ssrc=$VIDEO_SSRC:payload_type=101]$(rtp "$video")|[select=a:f=rtp:ssrc=$AUDIO_SSRC:payload_type=100]$(rtp "$audio")"

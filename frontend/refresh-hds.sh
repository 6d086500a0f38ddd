#!/usr/bin/env bash
# refresh-hds.sh re-fetches the pinned Helsinki Design System packages from the
# npm registry with `npm pack` (no install, no node_modules) and copies the few
# minified stylesheets the portal serves, with their licences, into
# assets/vendor/. Node is needed only to run this script, never at run time.
#
# Usage:  frontend/refresh-hds.sh            # re-fetch the pinned versions
#         HDS_VERSION=5.3.0 TOKENS_VERSION=5.1.0 frontend/refresh-hds.sh --unpinned
#
# With other versions the integrity pins below cannot match: pass --unpinned,
# check the diff, then put the printed integrity values into this file.
set -euo pipefail

HDS_VERSION="${HDS_VERSION:-5.2.2}"
TOKENS_VERSION="${TOKENS_VERSION:-5.0.0}"

# Subresource-integrity of the tarballs as the registry published them.
declare -A PINNED=(
	["hds-core@5.2.2"]="sha512-O83/0HetDiFtD2dBli1ntD65Wp+aAcdaniV3jJy6X8dYW8bmmbixu0bF2luyaR0FmdAMt0+tqZ9CtsxRAudviw=="
	["hds-design-tokens@5.0.0"]="sha512-1TzW9Mzr60L67AIntqWO171Gi34jjyf1QPs8lBD07NAHtaYO9QFBmyFsKdiZkacVsLNvsMShiTpEjpTDTicrLA=="
	["hds-react@5.2.2"]="sha512-M/5qQ6t8xneI/PKZqzjrYoVCCaI/o3z+WNRehntUAw0vdWjy/EL7YTUF/RkDR/FTyZKcE1YFYvNW9zZ5gi2d3Q=="
)

# The HDS icons the templates use; each is bundled into icons.min.css.
ICONS=(
	alert-circle angle-down angle-left angle-right arrow-right arrow-up calendar
	check-circle cross document envelope globe group home info-circle
	link-external menu-hamburger phone signin signout speechbubble-text user
)

unpinned=false
if [[ "${1:-}" == "--unpinned" ]]; then
	unpinned=true
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vendor="$here/assets/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fetch() { # fetch NAME VERSION → unpacks into $tmp/NAME
	local spec="$1@$2" file sum
	(cd "$tmp" && npm pack --silent "$spec" >/dev/null)
	file="$tmp/$1-$2.tgz"
	sum="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
	if [[ "${PINNED[$spec]:-}" != "$sum" ]]; then
		if ! $unpinned; then
			echo "refresh-hds: $spec integrity $sum does not match the pin" >&2
			exit 1
		fi
		echo "refresh-hds: pin for $spec: $sum" >&2
	fi
	mkdir -p "$tmp/$1"
	tar -xzf "$file" -C "$tmp/$1" --strip-components=1
}

fetch hds-core "$HDS_VERSION"
fetch hds-design-tokens "$TOKENS_VERSION"
fetch hds-react "$HDS_VERSION"

rm -rf "$vendor"
mkdir -p "$vendor/hds-core" "$vendor/hds-design-tokens" "$vendor/hds-react"

core="$tmp/hds-core/lib"
cp "$tmp/hds-core/LICENSE" "$vendor/hds-core/LICENSE"
cp "$core/base.min.css" "$vendor/hds-core/base.min.css"
cp "$core/components/all.min.css" "$vendor/hds-core/components.min.css"
# The @font-face of Helsinki Grotesk; the font file itself stays on the city's CDN.
cp "$core/fonts/fonts.min.css" "$vendor/hds-core/fonts.min.css"
{
	cat "$core/icons/icon.min.css"
	for icon in "${ICONS[@]}"; do
		printf '\n'
		cat "$core/icons/$icon.min.css"
	done
	printf '\n'
} >"$vendor/hds-core/icons.min.css"

cp "$tmp/hds-design-tokens/LICENSE" "$vendor/hds-design-tokens/LICENSE"
cp "$tmp/hds-design-tokens/lib/all.min.css" "$vendor/hds-design-tokens/all.min.css"

# hds-core ships no logo; hds-react carries the Helsinki logos as data URLs.
# Extract the Finnish and Swedish ones (drawn in currentColor) as SVG files.
cp "$tmp/hds-react/LICENSE" "$vendor/hds-react/LICENSE"
logo_src="$tmp/hds-react/lib/components/logo/Logo.d.ts"
for lang in Fi Sv; do
	lower="$(tr '[:upper:]' '[:lower:]' <<<"$lang")"
	data="$(sed -n "s/.*const logo${lang} = \"data:image\/svg+xml;base64,\([^\"]*\)\".*/\1/p" "$logo_src")"
	if [[ -z "$data" ]]; then
		echo "refresh-hds: logo $lang not found in $logo_src" >&2
		exit 1
	fi
	base64 -d <<<"$data" >"$vendor/hds-react/helsinki-logo-$lower.svg"
done

cat >"$vendor/VERSIONS" <<EOF
hds-core $HDS_VERSION
hds-design-tokens $TOKENS_VERSION
hds-react $HDS_VERSION (Helsinki logos; the koros "basic" shape in templates/partials/koros.html)
EOF

echo "refresh-hds: vendored hds-core $HDS_VERSION, hds-design-tokens $TOKENS_VERSION into $vendor"

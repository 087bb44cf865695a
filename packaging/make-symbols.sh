#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes debian/libec2t0.symbols from lib/libec2t.sym: every name with its
# version node; a function of node LIBEC2T_a.b first appeared in a.b.0, and
# the experimental node's functions are given 0.1.0 (edit a new one by hand
# to the release that adds it). Run after adding a node or a name:
#   packaging/make-symbols.sh lib/libec2t.sym >packaging/debian/libec2t0.symbols
set -eu
printf 'libec2t.so.0 libec2t0 #MINVER#\n* Build-Depends-Package: libec2t-dev\n'
sed 's,/\*.*\*/,,; /\/\*/,/\*\//d' "$1" | awk '
    /^[[:space:]]*LIBEC2T_[A-Za-z0-9_.]+[[:space:]]*\{/ {
        node = $1; sub(/\{.*/, "", node)
        ver = node; sub(/^LIBEC2T_/, "", ver)
        ver = ver ~ /^[0-9]+\.[0-9]+$/ ? ver ".0" : "0.1.0"
        printf " %s@%s %s\n", node, node, ver
        next
    }
    /^[[:space:]]*ec2t_[A-Za-z0-9_]*;/ {
        name = $1; sub(/;.*/, "", name)
        printf " %s@%s %s\n", name, node, ver
    }' | LC_ALL=C sort

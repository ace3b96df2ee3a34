#!/bin/sh
# Installs the MicroPython WebAssembly port used by tests/test_micropython_encoder.py.
# Run from anywhere: sh firmware_bridge/tests_js/install.sh  (needs node >= 18 and npm)
set -eu
cd "$(dirname "$0")"
if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund
else
    npm install --no-audit --no-fund
fi

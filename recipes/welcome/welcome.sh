#!/bin/sh
# Installed by recipes/welcome.rhai: a recipe that builds nothing and installs files.
echo "Welcome to $(. /etc/os-release && echo "$PRETTY_NAME"): this line comes from a recipe."

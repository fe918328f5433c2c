#!/bin/sh
set -e
cc -O2 -o hello src/hello.c

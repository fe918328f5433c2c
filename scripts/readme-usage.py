#!/usr/bin/env python3
"""Regenerates the help blocks of README.md's usage section from a built
reproof binary: `python3 scripts/readme-usage.py bin/reproof`. A test
(TestReadmeUsageMatchesHelp) checks that the README holds them verbatim."""
import re
import subprocess
import sys

binary = sys.argv[1] if len(sys.argv) > 1 else "bin/reproof"
readme = open("README.md").read()


def help_of(*args):
    return subprocess.run([binary, *args], capture_output=True, text=True, check=True).stdout


def replace(match):
    cmd = match.group(1)
    return "### reproof %s\n\n```\n%s```\n" % (cmd, help_of(cmd, "--help"))


readme = re.sub(r"### reproof (\w+)\n\n```\n.*?```\n", replace, readme, flags=re.S)
top = help_of("--help")
readme = re.sub(r"(## Usage\n\n```\n).*?```\n", lambda m: m.group(1) + top + "```\n", readme, count=1, flags=re.S)
open("README.md", "w").write(readme)

#!/usr/bin/env bash
# A server=command wrapper script as users write them: it ignores SIGTERM itself and starts the
# real server (which ignores SIGTERM too) in a session of its own, then waits for it.
#   server.argv=[bash, tests/helpers/stubborn_wrapper.sh, PYTHON, '{port}']
trap '' TERM
python="$1"
shift
setsid "$python" -m tests.helpers.stubborn_server "$@" &
wait

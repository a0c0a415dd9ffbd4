#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for the `slurm`-marked tests (and for trying
# hydra/launcher=submitit_slurm by hand): munge, slurmctld and slurmd on localhost, one partition
# `debug` holding this node. Idempotent: running it again with the daemons up and the same
# configuration does nothing; a changed configuration restarts them.
#   bash scripts/setup-slurm.sh          # install (apt-get slurm-wlm munge), configure, start
#   bash scripts/setup-slurm.sh stop     # stop slurmd, slurmctld, munged (the config stays)
#   bash scripts/setup-slurm.sh status   # exit 0 when the node accepts jobs
# Runs as root (it writes /etc/slurm and starts daemons). No accounting daemon: the tests read
# job states from squeue/scontrol and from MLflow, never from sacct.
#
# The node is described from this machine's own facts (`slurmd -C`: CPUs, sockets, cores, memory).
# Process tracking is proctrack/linuxproc (the parent-process tree): it needs no cgroup hierarchy,
# which a container (gVisor here) may not offer; a real cluster uses proctrack/cgroup. GPUs: this
# node has none, so no gres; on a GPU cluster the node lines carry `Gres=gpu:N` (gres.conf names
# the devices) and hydra/launcher=submitit_slurm asks for `gpus_per_node: ${gpus_per_job}`.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
STATE=/var/spool/slurmctld
SPOOL=/var/spool/slurmd
LOGS=/var/log/slurm
RUN=/run/slurm
PARTITION=debug

log() { echo "[setup-slurm] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

alive() {  # alive PIDFILE: the process in it runs
    [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

stop_pidfile() {  # stop_pidfile PIDFILE NAME: SIGTERM, then SIGKILL after 10 s
    local pidfile=$1 name=$2 pid
    alive "$pidfile" || { rm -f "$pidfile"; return 0; }
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name ($pid) ignored SIGTERM: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

stop_all() {
    stop_pidfile $RUN/slurmd.pid slurmd
    stop_pidfile $RUN/slurmctld.pid slurmctld
    stop_pidfile /run/munge/munged.pid munged
    log "stopped"
}

node_ready() {  # the node is idle/mixed/allocated in the partition
    local state
    state=$(sinfo -h -p $PARTITION -o %T 2>/dev/null | head -1) || return 1
    [[ $state =~ ^(idle|mixed|allocated|completing) ]]
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v munged >/dev/null && command -v sbatch >/dev/null; then
        return 0
    fi
    command -v apt-get >/dev/null || die "slurm-wlm/munge missing and no apt-get to install them"
    [[ $(id -u) == 0 ]] || die "installing slurm-wlm needs root"
    log "installing slurm-wlm munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null \
        || die "apt-get install slurm-wlm munge failed"
}

write_conf() {  # the configuration for this machine, on stdout
    local node host
    host=$(hostname -s)
    # NodeName=... CPUs=... Boards=... SocketsPerBoard=... CoresPerSocket=... RealMemory=...
    node=$(slurmd -C | head -1)
    [[ $node == NodeName=* ]] || die "slurmd -C gave no node line: $node"
    # leave the OS 1 GiB: a node whose RealMemory exceeds what slurmd finds is drained
    node=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^RealMemory=/) {
        split($i, kv, "="); m = kv[2] - 1024; $i = "RealMemory=" (m > 512 ? m : kv[2]) }
        print}' <<<"$node")
    cat <<EOF
# written by scripts/setup-slurm.sh: a single-node test cluster
ClusterName=sweeper
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
# a cancelled job's processes get SIGTERM, then SIGKILL 10 s later
KillWait=10
InactiveLimit=0
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    if alive /run/munge/munged.pid && munge -n </dev/null | unmunge >/dev/null 2>&1; then
        return 0
    fi
    install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
    install -d -o munge -g munge -m 0755 /run/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    runuser -u munge -- munged --pid-file=/run/munge/munged.pid
    for _ in $(seq 50); do
        munge -n </dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "munged did not start (see /var/log/munge/munged.log)"
}

start() {
    [[ $(id -u) == 0 ]] || die "run as root (it writes $CONF_DIR and starts daemons)"
    install_packages
    mkdir -p $CONF_DIR $STATE $SPOOL $LOGS $RUN
    local new
    new=$(write_conf)
    if [[ -f $CONF ]] && [[ $(cat $CONF) == "$new" ]] && alive $RUN/slurmctld.pid \
        && alive $RUN/slurmd.pid && node_ready; then
        log "already up: $(sinfo -h -o '%P %D %T %c CPUs %m MB')"
        return 0
    fi
    if [[ ! -f $CONF ]] || [[ $(cat $CONF) != "$new" ]]; then
        log "writing $CONF"
        printf '%s\n' "$new" >$CONF
        # a changed node description: restart both daemons
        stop_pidfile $RUN/slurmd.pid slurmd
        stop_pidfile $RUN/slurmctld.pid slurmctld
    fi
    start_munge
    alive $RUN/slurmctld.pid || slurmctld || die "slurmctld did not start (see $LOGS)"
    alive $RUN/slurmd.pid || slurmd || die "slurmd did not start (see $LOGS)"
    local host
    host=$(hostname -s)
    for i in $(seq 60); do
        node_ready && break
        # a node that came back after a restart may be down/drained: it is this script's own
        if (( i % 5 == 0 )); then
            scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
        fi
        sleep 0.5
    done
    node_ready || die "node not ready: $(sinfo -h -o '%T %E' 2>&1); see $LOGS"
    log "up: $(sinfo -h -o '%P %D %T %c CPUs %m MB')"
}

case "${1:-start}" in
    start) start ;;
    stop) stop_all ;;
    status) node_ready ;;
    *) die "usage: $0 [start|stop|status]" ;;
esac

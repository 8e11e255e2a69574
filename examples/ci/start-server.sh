#!/usr/bin/env bash
# Starts a MySQL or MariaDB container for dbsync's test suite, with the server flags the suite needs.
#   examples/ci/start-server.sh NAME IMAGE PORT      e.g. start-server.sh source mysql:8.0 3307
# The root password is $DBSYNC_CI_ROOT_PASSWORD (default "dbsync"); the container is called dbsync-NAME
# and listens on 127.0.0.1:PORT. Then run examples/ci/wait-for-servers.mjs and the suite with
# DBSYNC_TEST_SOURCE_URL / DBSYNC_TEST_TARGET_URL pointing at the two ports (README, "Testing and development").
set -euo pipefail

name=${1:?usage: start-server.sh NAME IMAGE PORT}
image=${2:?usage: start-server.sh NAME IMAGE PORT}
port=${3:?usage: start-server.sh NAME IMAGE PORT}
password=${DBSYNC_CI_ROOT_PASSWORD:-dbsync}

# What the suite's own throwaway servers run with (test/support/server-launch.ts): LOAD DATA LOCAL allowed
# (MySQL 8 defaults it to OFF; the INSERT fallback is tested on a server of its own), no binary log,
# room for big rows, utf8mb4 by default, and no waiting for fsync.
flags=(
  --local-infile=1
  --skip-log-bin
  --max-allowed-packet=256M
  --max-connections=500
  --character-set-server=utf8mb4
  --collation-server=utf8mb4_general_ci
  --innodb-flush-log-at-trx-commit=2
  --skip-name-resolve
)

# Both images take MYSQL_ROOT_PASSWORD (MariaDB's also as MARIADB_ROOT_PASSWORD).
docker run -d --name "dbsync-${name}" \
  -p "127.0.0.1:${port}:3306" \
  -e MYSQL_ROOT_PASSWORD="${password}" \
  -e MARIADB_ROOT_PASSWORD="${password}" \
  -e MYSQL_ROOT_HOST=% \
  "${image}" "${flags[@]}"

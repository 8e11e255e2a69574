#!/bin/sh
# Run by the mysql image's entrypoint after 01-shop.sql, while the server listens on its socket only.
# PROCESS lets dbsync see transactions still open on the source, so rows they commit late are not passed
# over (without it dbsync warns and relies on the lag window alone).
set -eu
mysql --protocol=socket -uroot -p"$MYSQL_ROOT_PASSWORD" -e "GRANT PROCESS ON *.* TO '$MYSQL_USER'@'%'"

#!/usr/bin/env bash
# A 3-node marmot cluster with 3 WordPress instances, each talking to its own node:
#
#   WordPress-1 http://127.0.0.1:9101 -> marmot-1 MySQL 127.0.0.1:9191
#   WordPress-2 http://127.0.0.1:9102 -> marmot-2 MySQL 127.0.0.1:9192
#   WordPress-3 http://127.0.0.1:9103 -> marmot-3 MySQL 127.0.0.1:9193
#
# WordPress is Debian's `wordpress` package (6.1), served by PHP's built-in server
# (`php -S`, several workers: WordPress calls itself). Writes go at QUORUM.
#
#   ./run.sh up        start everything (installs nothing; says what is missing)
#   ./run.sh status    cluster health and each instance's answer
#   ./run.sh logs-m    marmot logs        ./run.sh logs-wp   WordPress (php) logs
#   ./run.sh down      stop everything
#
# Settings (environment): MARMOT_WP_DIR (/tmp/marmot-wordpress), MARMOT_WP_PORTS
# ("9101 9102 9103"), MARMOT_WP_MYSQL_PORTS ("9191 9192 9193"), MARMOT_WP_GRPC_PORTS
# ("9181 9182 9183"), MARMOT_BIN (default: a release build of this checkout).
set -euo pipefail
DIR="${MARMOT_WP_DIR:-/tmp/marmot-wordpress}"
read -r -a WP_PORTS <<< "${MARMOT_WP_PORTS:-9101 9102 9103}"
read -r -a MYSQL_PORTS <<< "${MARMOT_WP_MYSQL_PORTS:-9191 9192 9193}"
read -r -a GRPC_PORTS <<< "${MARMOT_WP_GRPC_PORTS:-9181 9182 9183}"
export MARMOT_EXAMPLE_DIR="$DIR/nodes"
# shellcheck source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
WORDPRESS_SRC=/usr/share/wordpress

need() { # command, package
  command -v "$1" >/dev/null || { echo "$1 is missing: apt-get install $2" >&2; exit 1; }
}

# One copy of WordPress for the three instances; each php server tells it its node.
install_wordpress() {
  [ -f "$WORDPRESS_SRC/wp-settings.php" ] || {
    echo "WordPress is missing: apt-get install wordpress php-cli php-mysql" >&2
    exit 1
  }
  # Not `grep -q`: it stops reading at the match, php dies of SIGPIPE, and pipefail
  # then reports the module missing.
  php -m | grep -i '^mysqli$' >/dev/null || { echo "PHP's mysqli is missing: apt-get install php-mysql" >&2; exit 1; }
  if [ ! -f "$DIR/wordpress/wp-settings.php" ]; then
    mkdir -p "$DIR/wordpress"
    cp -a "$WORDPRESS_SRC/." "$DIR/wordpress/"
  fi
  # Debian's wp-config.php reads /etc/wordpress; this one takes its node from the environment.
  rm -f "$DIR/wordpress/wp-config.php"
  cat > "$DIR/wordpress/wp-config.php" <<'PHP'
<?php
// Written by examples/wordpress-cluster/run.sh: each instance's php server passes
// its own marmot node and URL in the environment.
define('DB_NAME', 'wordpress');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', getenv('MARMOT_WP_DB_HOST'));
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
define('WP_HOME', getenv('MARMOT_WP_URL'));
define('WP_SITEURL', getenv('MARMOT_WP_URL'));
// The same keys everywhere: a login made through one instance is valid on the others.
define('AUTH_KEY', 'marmot-example-auth-key');
define('SECURE_AUTH_KEY', 'marmot-example-secure-auth-key');
define('LOGGED_IN_KEY', 'marmot-example-logged-in-key');
define('NONCE_KEY', 'marmot-example-nonce-key');
define('AUTH_SALT', 'marmot-example-auth-salt');
define('SECURE_AUTH_SALT', 'marmot-example-secure-auth-salt');
define('LOGGED_IN_SALT', 'marmot-example-logged-in-salt');
define('NONCE_SALT', 'marmot-example-nonce-salt');
define('WP_AUTO_UPDATE_CORE', false);
define('AUTOMATIC_UPDATER_DISABLED', true);
$table_prefix = 'wp_';
if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
PHP
}

wait_http() { # url
  for _ in $(seq 1 150); do
    curl -s -o /dev/null "$1" && return
    sleep 0.2
  done
  echo "nothing answers at $1" >&2
  exit 1
}

up() {
  need php php-cli
  need mariadb mariadb-client
  need curl curl
  install_wordpress
  mkdir -p "$DIR"
  local seeds=""
  for i in 0 1 2; do
    start_node $((i + 1)) "${GRPC_PORTS[$i]}" "${MYSQL_PORTS[$i]}" "$seeds"
    seeds="\"127.0.0.1:${GRPC_PORTS[0]}\""
  done
  # The database WordPress installs into, created once and replicated.
  for _ in $(seq 1 100); do
    mariadb --protocol=TCP -h127.0.0.1 -P"${MYSQL_PORTS[0]}" -uroot -e "CREATE DATABASE IF NOT EXISTS wordpress" \
      2>/dev/null && break
    sleep 0.2
  done
  for i in 0 1 2; do
    for _ in $(seq 1 100); do
      mariadb --protocol=TCP -h127.0.0.1 -P"${MYSQL_PORTS[$i]}" -uroot -N -e "SHOW DATABASES LIKE 'wordpress'" \
        2>/dev/null | grep -q wordpress && break
      sleep 0.2
    done
  done
  for i in 0 1 2; do
    local n=$((i + 1)) port="${WP_PORTS[$i]}"
    MARMOT_WP_DB_HOST="127.0.0.1:${MYSQL_PORTS[$i]}" MARMOT_WP_URL="http://127.0.0.1:$port" \
      PHP_CLI_SERVER_WORKERS=4 setsid nohup php -S "127.0.0.1:$port" -t "$DIR/wordpress" \
      > "$DIR/wordpress-$n.log" 2>&1 < /dev/null &
    # Its own process group (setsid), whose id is this pid: `down` stops the workers
    # PHP_CLI_SERVER_WORKERS forks along with their parent.
    echo $! > "$DIR/wordpress-$n.pid"
  done
  for i in 0 1 2; do
    wait_http "http://127.0.0.1:${WP_PORTS[$i]}/wp-includes/images/blank.gif"
    echo "WordPress-$((i + 1)): http://127.0.0.1:${WP_PORTS[$i]} -> marmot-$((i + 1)) MySQL 127.0.0.1:${MYSQL_PORTS[$i]}"
  done
  echo "Open http://127.0.0.1:${WP_PORTS[0]} to install WordPress; the others show the same site."
}

status() {
  for i in 0 1 2; do
    local n=$((i + 1))
    echo "marmot-$n: $(curl -s "http://127.0.0.1:${GRPC_PORTS[$i]}/admin/cluster/members" | head -c 300 || echo down)"
    echo "WordPress-$n: HTTP $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${WP_PORTS[$i]}/" || echo down)"
  done
}

# Stop process group $1 (falling back to the single process), waiting up to 5 s before
# SIGKILL, so nothing is left listening when `down` returns.
stop_group() {
  local pid=$1
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

down() {
  for n in 1 2 3; do
    for f in "$DIR/wordpress-$n.pid" "$MARMOT_EXAMPLE_DIR/node-$n/marmot.pid"; do
      if [ -f "$f" ]; then
        stop_group "$(cat "$f")"
        rm -f "$f"
      fi
    done
  done
  echo "stopped; data stays in $DIR (remove it for a fresh install)"
}

case "${1:-}" in
  up) up ;;
  status) status ;;
  down) down ;;
  logs-m) tail -n 50 "$MARMOT_EXAMPLE_DIR"/node-*/marmot.log ;;
  logs-wp) tail -n 50 "$DIR"/wordpress-*.log ;;
  *) echo "usage: $0 up|status|down|logs-m|logs-wp" >&2; exit 2 ;;
esac

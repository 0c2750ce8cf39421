# The benchmarks' reference server, sourced by bench/run.sh and bench/swarm.sh: Debian's
# nginx-light serving one folder on two loopback ports from one master, sendfile on (Debian's
# default) on the first and off (read into two 1 MiB buffers, then written) on the second.
# Needs nginx and python3 (for a port the OS chose).

# nginx_start DIR ROOT WORKERS [USER]: writes DIR/nginx.conf (pid file, error log and temp paths
# in DIR too), starts nginx on it serving ROOT with WORKERS worker processes (as USER when given,
# else nginx's default user), waits for its pid file (10 s at most) and prints
# "PID PORT-ON PORT-OFF". Returns 1, saying why on stderr, when nginx does not start.
nginx_start() {
    local dir=$1 root=$2 workers=$3 user=${4:-} on off pid
    on=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()') || return 1
    off=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()') || return 1
    mkdir -p "$dir"
    {
        [ -n "$user" ] && echo "user $user;"
        cat <<NGINX
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
    uwsgi_temp_path $dir; scgi_temp_path $dir;
    server { listen 127.0.0.1:$on;  sendfile on;  root $root; }
    server { listen 127.0.0.1:$off; sendfile off; output_buffers 2 1m; root $root; }
}
NGINX
    } > "$dir/nginx.conf"
    # The listening sockets are bound before this returns; the daemon writes its pid just after.
    nginx -c "$dir/nginx.conf" -p "$dir" || { echo "nginx did not start ($dir/nginx.conf)" >&2; return 1; }
    for _ in $(seq 200); do
        [ -s "$dir/nginx.pid" ] && { read -r pid < "$dir/nginx.pid"; echo "$pid $on $off"; return 0; }
        sleep 0.05
    done
    echo "nginx wrote no pid file in $dir" >&2
    return 1
}

# nginx_stop DIR: stops the nginx that nginx_start started in DIR, if it runs (its workers go
# with it).
nginx_stop() {
    [ -f "$1/nginx.pid" ] && kill "$(cat "$1/nginx.pid")" 2>/dev/null || true
}

#!/bin/sh
# Serves "hello from <container>" on 8080, and /healthz for the health check.
mkdir -p /www
echo "hello from $(hostname)" > /www/index.html
echo ok > /www/healthz
exec httpd -f -p 8080 -h /www

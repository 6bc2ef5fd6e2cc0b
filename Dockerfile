# bananabot: a small image running as a non-root user; the database lives on a volume.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot.py cli.py errors.py settings.py ./
COPY cogs ./cogs
COPY db ./db
COPY jobs ./jobs
COPY presentation ./presentation
COPY providers ./providers
COPY quota ./quota
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/bananabot.db \
    METRICS_LISTEN=127.0.0.1:9090
RUN useradd --create-home --uid 10001 bananabot \
    && mkdir /data && chown bananabot:bananabot /data
COPY --from=build /install /usr/local
USER bananabot
WORKDIR /home/bananabot
VOLUME ["/data"]
# SIGTERM stops cleanly within ~6 s (a 5 s grace for a submit or post in flight): no new
# jobs; unfinished ones resume on the next start. Run with --stop-timeout 20 for headroom.
STOPSIGNAL SIGTERM
# /healthz answers 200 only while the gateway is connected, the database answers and the job
# engine runs. The image turns the listener on for this check (METRICS_LISTEN above: inside the
# container only; set 0.0.0.0:9090 and publish the port for Prometheus). With METRICS_LISTEN
# set empty there is nothing to ask, and the check passes rather than marking a working bot
# unhealthy. The slim image has no curl: Python's urllib asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD python -c "\
import os, sys, urllib.request; \
listen = os.environ.get('METRICS_LISTEN', '').strip(); \
host, _, port = listen.rpartition(':'); host = host.strip('[]'); \
host = '127.0.0.1' if host in ('', '0.0.0.0') else '::1' if host == '::' else host; \
host = '[' + host + ']' if ':' in host else host; \
sys.exit(0) if not listen else urllib.request.urlopen('http://%s:%s/healthz' % (host, port), timeout=4)"
ENTRYPOINT ["bananabot"]

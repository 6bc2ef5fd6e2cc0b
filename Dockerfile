# bananabot: a small image running as a non-root user; the database lives on a volume.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot.py cli.py settings.py ./
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
    DATABASE_URL=sqlite:////data/bananabot.db
RUN useradd --create-home --uid 10001 bananabot \
    && mkdir /data && chown bananabot:bananabot /data
COPY --from=build /install /usr/local
USER bananabot
WORKDIR /home/bananabot
VOLUME ["/data"]
# SIGTERM stops cleanly within ~6 s (a 5 s grace for a submit or post in flight): no new
# jobs; unfinished ones resume on the next start. Run with --stop-timeout 20 for headroom.
STOPSIGNAL SIGTERM
ENTRYPOINT ["bananabot"]

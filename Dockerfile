# Corridor service image: API, worker and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim-bookworm

# Fonts for PDF receipts in every supported script (Latin, Cyrillic, Greek, CJK, Arabic,
# Devanagari, Thai); the receipt renderer refuses to print a glyph it cannot draw.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-core fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY core core
COPY payments payments
COPY settlement settlement
COPY compliance compliance
COPY i18n i18n
COPY api api
RUN pip install --no-cache-dir . && useradd --system --home /app corridor
USER corridor
ENV CORRIDOR_DATA_DIR=/app/data
EXPOSE 8000
ENTRYPOINT ["corridor"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

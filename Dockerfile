# syntax=docker/dockerfile:1.7
# The voc-stream flow image: `voc` on PATH, the Kafka extra, no compilers, a non-root user.
#   docker build -t voc-stream:0.1.0 .
#   docker run --rm voc-stream:0.1.0 --help
FROM python:3.11.14-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY flows ./flows
COPY nlp ./nlp
COPY schemas ./schemas
RUN python -m venv /opt/voc && /opt/voc/bin/pip install '.[kafka]'

FROM python:3.11.14-slim-bookworm
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/voc voc \
    && mkdir -p /var/lib/voc/recovery \
    && chown -R voc:voc /var/lib/voc
COPY --from=build /opt/voc /opt/voc
ENV PATH=/opt/voc/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER voc
WORKDIR /var/lib/voc
# Bytewax cluster traffic between the flow's processes.
EXPOSE 2101
ENTRYPOINT ["voc"]
CMD ["--help"]

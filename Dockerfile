# The kit's Python services for docker-compose.yml: the worker, the codec server and JupyterLab.
#   docker build -t rag-claimcheck .
#   docker run --rm rag-claimcheck python -m rag_claimcheck.codec_server --help
# temporal-devserver, the kit's build of Temporal server 1.32 (tools/devserver): notebook 02's last
# section starts one for a moment to show the server's own external-payload figures.
FROM golang:1.26.8 AS devserver
COPY tools/devserver /src
RUN cd /src && CGO_ENABLED=0 go build -o /temporal-devserver .

FROM python:3.11-slim

# uv, the same release the lock file was written with.
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /uvx /usr/local/bin/
# The Temporal CLI, so the notebooks in the jupyter service can start their own dev server
# (the same image the temporal service runs; its binary path was not verifiable offline).
COPY --from=temporalio/temporal:1.5.1 /usr/local/bin/temporal /usr/local/bin/temporal
COPY --from=devserver /temporal-devserver /usr/local/bin/temporal-devserver

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1

RUN useradd --create-home --uid 1000 app
WORKDIR /app

# Dependencies first, from the lock file only: this layer is rebuilt only when uv.lock changes.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the kit itself (only what the services run; notebooks are mounted by docker-compose.yml).
COPY README.md ./
COPY rag_claimcheck ./rag_claimcheck
COPY worker.py start_workflow.py ./
RUN uv sync --frozen --no-dev

USER app
EXPOSE 8081 8888
CMD ["python", "worker.py", "--help"]

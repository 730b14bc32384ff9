# Chainguard's -dev variants run as root, for installing packages.
# want "sets no USER"
FROM cgr.dev/chainguard/python:latest-dev
COPY app.py /app/
ENTRYPOINT ["python", "/app/app.py"]

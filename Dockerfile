# StreamStudio as a Hugging Face Docker Space (or any container host).
#   docker build -t streamstudio . && docker run -p 7860:7860 streamstudio
# Spaces run the container as uid 1000 and send traffic to port 7860; inside the container the
# server binds 0.0.0.0 (the container's own network), everywhere else it binds 127.0.0.1.
FROM python:3.12-slim-bookworm

# ffmpeg with ffprobe: Gradio's streaming video re-muxes each chunk and needs both.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*

RUN useradd -m -u 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    HF_HOME=/home/user/.cache/huggingface \
    STUDIO_PROJECTS_ROOT=/home/user/projects \
    GRADIO_ANALYTICS_ENABLED=False \
    PYTHONUNBUFFERED=1
WORKDIR /home/user/app

COPY --chown=user requirements.txt constraints.txt ./
# torch first: on a GPU Space pip keeps this CUDA build for everything else.
RUN pip install --no-cache-dir --user torch==2.13.0 \
 && pip install --no-cache-dir --user -r requirements.txt -c constraints.txt

COPY --chown=user . .

EXPOSE 7860
CMD ["python", "app.py", "--host", "0.0.0.0", "--port", "7860"]

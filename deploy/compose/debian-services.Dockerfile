# Redis and nginx from Debian, for the scale profile of docker-compose.yml: built on the image the gateway runs on
# (the official ASP.NET runtime image is Debian), so that the stack needs no other registry. In production, use a
# managed Redis or the official redis image, and the load balancer you already have.
ARG BASE_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0
FROM ${BASE_IMAGE}
USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light redis-server \
 && rm -rf /var/lib/apt/lists/*

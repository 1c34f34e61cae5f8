# MoaGateway container image: built in the .NET 10 SDK image, run in the ASP.NET Core 10 runtime image.
#
#   docker build -t moagateway:local .
#
# Both base images are build arguments, so other bases (a mirror, or locally built stand-ins) can be passed with
# --build-arg SDK_IMAGE=... --build-arg RUNTIME_IMAGE=... . For a build without network access to NuGet, put the
# packages in a folder inside the build context (a NuGet global-packages folder such as ~/.nuget/packages is a valid
# feed) and pass --build-arg NUGET_SOURCE=<that folder>; README.md ("Running in a container") shows how.
# Plain instructions only, so the legacy builder builds it as well as BuildKit.

ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
ARG NUGET_SOURCE
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
WORKDIR /src

# COPY cannot be skipped, so without NUGET_SOURCE this copies global.json, which every context has, and restore
# ignores the folder. With it, the feed lands in its own layer that changes only when the packages do.
COPY ${NUGET_SOURCE:-global.json} /nuget-source/

# Restore depends only on these files, so source edits reuse the restored layer. Only the gateway project is
# restored and published: the tests do not belong in the image.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/MoaGateway/MoaGateway.csproj src/MoaGateway/
RUN dotnet restore src/MoaGateway/MoaGateway.csproj ${NUGET_SOURCE:+--source /nuget-source}

# .editorconfig takes part in the build (code-style analyzers run with warnings as errors).
COPY .editorconfig appsettings.json ./
COPY src/ src/
RUN dotnet publish src/MoaGateway/MoaGateway.csproj -c Release --no-restore -o /app -p:UseAppHost=false

FROM ${RUNTIME_IMAGE} AS runtime
# The official image's non-root user 'app' has uid 1654; bases without it (such as a plain Debian root) get the
# same user here, so the uid is the same whatever the base. USER is numeric so that Kubernetes' runAsNonRoot can
# verify it.
ARG APP_UID=1654
RUN getent passwd "$APP_UID" >/dev/null || \
    { groupadd --gid "$APP_UID" app && \
      useradd --uid "$APP_UID" --gid "$APP_UID" --no-create-home --no-log-init --shell /usr/sbin/nologin app; }

WORKDIR /app
# Owned by root and not writable by the app user: the process needs no write access anywhere but /tmp.
COPY --from=build /app ./

# Production: JSON log lines on stdout, and missing provider keys refuse start-up instead of silently simulating.
# ASPNETCORE_HTTP_PORTS is set here too because not every base image sets it, and without it the gateway
# listens on localhost only.
ENV ASPNETCORE_ENVIRONMENT=Production \
    ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
USER $APP_UID

# The official runtime image has neither curl nor wget, so the check speaks HTTP through bash's /dev/tcp and
# needs only bash, head and grep, which that image and Debian/Ubuntu bases have. A shell-less (chiseled) base
# cannot run it: there, drop this instruction and rely on the orchestrator's HTTP probes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["dotnet", "MoaGateway.dll"]

# aura-controller container image.
#   docker build -t aura-controller:0.1.0 .
#   docker run --read-only -v aura-data:/var/lib/aura-controller -v "$PWD/specs:/etc/aura-controller/specs:ro" \
#     -e AURA_CLIENT_ID -e AURA_CLIENT_SECRET -p 9090:9090 aura-controller:0.1.0
# The runtime stage holds the binary, the Debian packages of its shared libraries and CA
# certificates, nothing else. tests/packaging/check_dockerfile.py (ctest -L packaging) fails when
# the built binary needs a library that the runtime apt-get line below does not install.
# Pin the base images by digest (debian:12@sha256:...) for reproducible builds.

FROM debian:12 AS build
WORKDIR /src
# The project's own dependency script, in a layer of its own: cached until the script changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --no-npm && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DAURA_BUILD_TESTS=OFF -DAURA_BUILD_BENCH=OFF \
 && cmake --build /build --target aura-controller \
 && install -D -m 0755 -s /build/cmd/aura-controller/aura-controller /out/aura-controller \
 && /out/aura-controller version

FROM debian:12-slim AS runtime
# CI sets these: --build-arg VERSION=... REVISION=$(git rev-parse HEAD) SOURCE=<repo URL>
# CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ). VERSION's default is the CMake project version.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="aura-controller" \
      org.opencontainers.image.description="Reconciles Neo4j Aura instances with declarative specs, Kubernetes-style" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/debian:12-slim"
# One package per shared library of the binary (ldd | dpkg -S), listed even when the base image
# already has it, and CA certificates for TLS to the Aura API.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libc6 libgcc-s1 libstdc++6 libssl3 libcpprest2.10 libyaml-cpp0.7 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log
COPY --from=build /out/aura-controller /usr/local/bin/aura-controller
# Everything the controller writes lives under /var/lib/aura-controller (the journal, its lock,
# the status snapshot, credentials/NS/NAME.json and their temp files), so the root filesystem
# can be read-only. Specs are read from /etc/aura-controller/specs.
RUN mkdir -p /var/lib/aura-controller /etc/aura-controller/specs \
 && chown 65532:65532 /var/lib/aura-controller && chmod 0700 /var/lib/aura-controller
ENV AURA_STATE=/var/lib/aura-controller/journal.json \
    AURA_CREDENTIALS_DIR=/var/lib/aura-controller/credentials \
    AURA_LOG_FORMAT=json
VOLUME ["/var/lib/aura-controller"]
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/aura-controller", "run"]
CMD ["--specs=/etc/aura-controller/specs", "--metrics-addr=:9090"]

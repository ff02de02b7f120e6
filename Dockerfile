# Placeholder until the packaging issue lands: builds the project with its own scripts.
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN scripts/install-deps.sh --no-npm && cmake -S . -B build -G Ninja -DAURA_BUILD_TESTS=OFF \
    -DAURA_BUILD_BENCH=OFF && cmake --build build

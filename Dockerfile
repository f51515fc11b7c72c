# arena: a static binary on distroless. Build from the repository root:
#   docker build -t arena .
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a change to the source does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a static binary that needs no libc in the runtime image.
# -buildvcs=false: .git is not in the build context (.dockerignore).
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o /out/arena ./cmd/arena

# distroless/static: CA certificates and time zones, no shell, no package
# manager; the nonroot variant runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/arena /arena
USER nonroot:nonroot
# The page, the WebSocket and the API; arena listens on every interface
# by default.
EXPOSE 8765
ENTRYPOINT ["/arena"]

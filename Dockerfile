# Production image: a static, CGO-free binary on a distroless base, run as
# a non-root user. Build: docker build -t asumisneuvonta-portal .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/portal ./cmd/portal

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portal /portal
# Listen on all interfaces inside the container; metrics stay on their own port.
ENV PORTAL_LISTEN=:8080 \
    PORTAL_METRICS_LISTEN=:9090 \
    PORTAL_DATA_DIR=/data
USER nonroot:nonroot
EXPOSE 8080 9090
ENTRYPOINT ["/portal"]
CMD ["serve"]

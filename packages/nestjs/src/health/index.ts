// A subpath of its own (`@tidings/nestjs/health`), so that @nestjs/terminus stays an optional peer.
export { TidingsHealthIndicator } from './tidings-health.indicator';

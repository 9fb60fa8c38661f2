/** The dashboard's HTTP route: the built page and its assets at the listener's root. */
export {
  createDashboardRoute,
  type DashboardRouteOptions,
  DEFAULT_DASHBOARD_DIR,
} from './dashboard-route.js';

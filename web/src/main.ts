// Entry point of the dashboard bundle: defining the root element starts the app.
import "./lib/csp";
import "./components/tether-app";

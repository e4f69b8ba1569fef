// Entry point of the dashboard bundle: defining the root element starts the app.
import "./components/tether-app";

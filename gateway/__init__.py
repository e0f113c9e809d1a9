"""The API gateway: users and login, routing to the services, merged API docs."""

# (owned by the network work: ws_listener, ws_client, terminal_session, terminal_cli)

# (owned by the network work: ws_listener, ws_client, terminal_session, terminal_cli)
# Beast is slow to compile: all server code is in ws_listener.cpp, all client
# code in ws_client.cpp; nothing else includes Beast.
target_sources(paysync_protocols PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ws_listener.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tls_context.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ws_client.cpp
  ${CMAKE_CURRENT_LIST_DIR}/terminal_cli.cpp)
target_link_libraries(paysync_protocols PRIVATE Boost::program_options)

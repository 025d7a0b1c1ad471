# The network layer's tests: real sockets on 127.0.0.1, ephemeral ports.
paysync_add_test(protocols_net_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/ws_listener_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ws_client_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/tls_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/tls_context_test.cpp
  LIBS paysync_protocols OpenSSL::SSL Threads::Threads
  LABELS protocols)

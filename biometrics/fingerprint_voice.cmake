# Fingerprint and voice matchers (the image decoding they share with face
# and iris comes from face_iris.cmake).
target_sources(paysync_biometrics PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/fingerprint_enhance.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fingerprint_minutiae.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fingerprint_template.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fingerprint_match.cpp
  ${CMAKE_CURRENT_LIST_DIR}/fingerprint_matcher.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wav_decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/voice_features.cpp
  ${CMAKE_CURRENT_LIST_DIR}/voice_model.cpp
  ${CMAKE_CURRENT_LIST_DIR}/voice_ubm_data.cpp
  ${CMAKE_CURRENT_LIST_DIR}/voice_matcher.cpp
)

# Face and iris matchers, and the image decoding every image modality shares.
target_sources(paysync_biometrics PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/image_decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/template_header.cpp
  ${CMAKE_CURRENT_LIST_DIR}/face_locate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/face_features.cpp
  ${CMAKE_CURRENT_LIST_DIR}/face_matcher.cpp
  ${CMAKE_CURRENT_LIST_DIR}/iris_segment.cpp
  ${CMAKE_CURRENT_LIST_DIR}/iris_code.cpp
  ${CMAKE_CURRENT_LIST_DIR}/iris_matcher.cpp
)

# Face and iris matchers, and the image decoding every image modality shares.
target_sources(paysync_biometrics PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/image_decode.cpp
)

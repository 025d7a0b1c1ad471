# Fingerprint and voice matchers and the WAV reader. Tests that need the data
# read it from $PAYSYNC_DATA, else ../shared/data next to the source tree.
if(NOT OpenCV_FOUND)
  find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs)
endif()
paysync_add_test(biometrics_fingerprint_voice_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/wav_decode_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/voice_matcher_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fingerprint_matcher_test.cpp
  LIBS paysync_biometrics ${OpenCV_LIBS}
  LABELS biometrics)
target_include_directories(biometrics_fingerprint_voice_tests SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
target_compile_definitions(biometrics_fingerprint_voice_tests
  PRIVATE PAYSYNC_TEST_DATA="${PROJECT_SOURCE_DIR}/../shared/data")

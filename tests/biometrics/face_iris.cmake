# Face and iris matchers and the shared image decoding. Tests that need the
# data read it from $PAYSYNC_DATA, else ../shared/data next to the source tree.
if(NOT OpenCV_FOUND)
  find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs objdetect)
endif()
paysync_add_test(biometrics_face_iris_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/image_decode_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/face_matcher_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/iris_matcher_test.cpp
  LIBS paysync_biometrics ${OpenCV_LIBS}
  LABELS biometrics)
target_include_directories(biometrics_face_iris_tests SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
target_compile_definitions(biometrics_face_iris_tests
  PRIVATE PAYSYNC_TEST_DATA="${PROJECT_SOURCE_DIR}/../shared/data")
